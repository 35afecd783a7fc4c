import { error } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { callerFor } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

/**
 * One backtest: its progress (`models.backtest.get`) and the candidate against the recorded
 * decisions over the results stored so far (`models.backtest.comparison`), with the shadow
 * comparison's figures.
 */
export const load: PageServerLoad = async (event) => {
	const caller = callerFor(event);
	try {
		const comparison = await caller.models.backtest.comparison({
			model: event.params.model,
			id: event.params.id
		});
		return { comparison };
	} catch (cause) {
		if (cause instanceof TRPCError && (cause.code === 'NOT_FOUND' || cause.code === 'BAD_REQUEST')) {
			error(404, `No backtest ${event.params.id} of ${event.params.model}.`);
		}
		throw cause;
	}
};
