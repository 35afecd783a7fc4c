import { callerFor } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

/** The instance's readiness in words: what `/readyz` answers as JSON, for people. */
export const load: PageServerLoad = async (event) => {
	event.setHeaders({ 'cache-control': 'no-store' });
	return { health: await callerFor(event).system.health() };
};
