import { field, refused } from '$lib/server/forms';
import { requestMeta } from '$lib/server/auth/request';
import {
	serviceAccountRoles,
	type ServiceAccountService
} from '$lib/server/services/service-accounts.service';
import type { Principal } from '$lib/server/auth/principal';
import type { Actions, PageServerLoad, RequestEvent } from './$types';

/** The core's service: its revocations reach this instance's token-status cache at once. */
function service(event: RequestEvent): ServiceAccountService {
	return event.locals.core.auth.serviceAccounts;
}

/** The route guard let only administrators this far; the service checks the actor again. */
function actor(event: RequestEvent): Principal {
	const { principal } = event.locals;
	if (!principal) throw new Error('guarded route reached without a principal');
	return principal;
}

export const load: PageServerLoad = async (event) => {
	const accounts = await service(event).list(actor(event));
	return { accounts, roles: serviceAccountRoles };
};

export const actions: Actions = {
	create: async (event) => {
		const data = await event.request.formData();
		const values = { name: field(data, 'name').trim(), role: field(data, 'role') };
		try {
			const { account, clientId, clientSecret } = await service(event).create(
				actor(event),
				{ name: values.name, role: values.role as (typeof serviceAccountRoles)[number] },
				requestMeta(event)
			);
			return { created: { name: account.name, role: account.role, clientId, clientSecret } };
		} catch (error) {
			return refused(error, { form: 'create', values });
		}
	},
	revoke: async (event) => {
		const clientId = field(await event.request.formData(), 'clientId');
		try {
			const { account } = await service(event).revoke(actor(event), clientId, requestMeta(event));
			return { revoked: account.name };
		} catch (error) {
			return refused(error, { form: 'revoke' });
		}
	}
};
