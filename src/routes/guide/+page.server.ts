import { callerFor } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

/** The guide quotes the live policy of each model (cut-offs, scaling, bands), never copied figures. */
export const load: PageServerLoad = async (event) => {
	const caller = callerFor(event);
	const models = await caller.models.list();
	const policies = await Promise.all(
		models.map(async (model) => {
			const info = await caller.models.info({ model: model.id });
			return { id: info.id, version: info.version, name: info.name, policy: info.policy };
		})
	);
	return { policies };
};
