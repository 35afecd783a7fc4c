import { error } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { field, refused } from '$lib/server/forms';
import { callerFor } from '$lib/server/trpc/caller';
import { roleLabels, userRoles, type UserRole } from '$lib/server/auth/access';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const caller = callerFor(event);
	try {
		const user = await caller.users.get({ id: event.params.id });
		return {
			user,
			isSelf: event.locals.principal?.id === user.id,
			roles: userRoles.map((role) => ({ value: role, label: roleLabels[role] }))
		};
	} catch (cause) {
		if (cause instanceof TRPCError && (cause.code === 'NOT_FOUND' || cause.code === 'BAD_REQUEST'))
			error(404, 'No such user.');
		throw cause;
	}
};

type Caller = Awaited<ReturnType<typeof callerFor>>;

/** Runs one administrative change and reports it to the page (`done` names the change). */
async function change<T>(
	event: Parameters<Actions[string]>[0],
	done: string,
	run: (caller: Caller, id: string, data: FormData) => Promise<T>
) {
	const data = await event.request.formData();
	try {
		const result = await run(callerFor(event), event.params.id ?? '', data);
		return { done, result };
	} catch (cause) {
		return refused(cause, { form: done });
	}
}

export const actions: Actions = {
	role: (event) =>
		change(event, 'role', (caller, id, data) =>
			caller.users.setRole({ id, role: field(data, 'role') as UserRole }).then(() => null)
		),
	disable: (event) => change(event, 'disable', (caller, id) => caller.users.disable({ id }).then(() => null)),
	enable: (event) => change(event, 'enable', (caller, id) => caller.users.enable({ id }).then(() => null)),
	unlock: (event) => change(event, 'unlock', (caller, id) => caller.users.unlock({ id }).then(() => null)),
	resetTwoFactor: (event) =>
		change(event, 'resetTwoFactor', (caller, id) => caller.users.resetTwoFactor({ id }).then(() => null)),
	resetPassword: (event) =>
		change(event, 'resetPassword', (caller, id) =>
			caller.users.resetPassword({ id }).then((reset) => reset.temporaryPassword)
		)
};
