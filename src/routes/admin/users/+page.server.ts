import { TRPCError } from '@trpc/server';
import { ValidationFailed } from '$lib/server/errors';
import { field, refused } from '$lib/server/forms';
import { callerFor } from '$lib/server/trpc/caller';
import { roleLabels, userRoles, type UserRole } from '$lib/server/auth/access';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const search = event.url.searchParams.get('q')?.slice(0, 200) ?? '';
	const caller = callerFor(event);
	const roles = userRoles.map((role) => ({ value: role, label: roleLabels[role] }));
	try {
		return {
			search,
			searchErrors: [],
			users: await caller.users.list({ search: search || undefined }),
			roles
		};
	} catch (error) {
		// A search the procedure refuses (a NUL character from a typed URL) is shown, not a 500.
		const cause = error instanceof TRPCError ? error.cause : null;
		if (!(cause instanceof ValidationFailed)) throw error;
		return { search, searchErrors: Object.values(cause.fieldErrors).flat(), users: [], roles };
	}
};

export const actions: Actions = {
	create: async (event) => {
		const data = await event.request.formData();
		const values = {
			email: field(data, 'email').trim(),
			name: field(data, 'name').trim(),
			role: field(data, 'role')
		};
		try {
			const caller = callerFor(event);
			const { user, temporaryPassword } = await caller.users.create({
				...values,
				role: values.role as UserRole
			});
			return { created: { id: user.id, email: user.email, name: user.name, temporaryPassword } };
		} catch (error) {
			return refused(error, { values });
		}
	}
};
