import { fail } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { MONITORING_DEPENDENCY } from '$lib/monitoring';
import { callerFor } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	// The page invalidates this every few seconds (see +page.svelte).
	event.depends(MONITORING_DEPENDENCY);
	const range = event.url.searchParams.get('range') === 'day' ? 'day' : 'hour';
	const caller = callerFor(event);
	return { summary: await caller.monitoring.summary({ range }) };
};

export const actions: Actions = {
	acknowledge: async (event) => {
		const form = await event.request.formData();
		const value = form.get('id');
		const id = typeof value === 'string' ? value : '';
		const caller = callerFor(event);
		try {
			const alert = await caller.monitoring.acknowledge({ id });
			return { acknowledged: alert.id };
		} catch (error) {
			if (error instanceof TRPCError) {
				const status =
					error.code === 'BAD_REQUEST'
						? 400
						: error.code === 'NOT_FOUND'
							? 404
							: error.code === 'CONFLICT'
								? 409
								: error.code === 'FORBIDDEN'
									? 403
									: null;
				if (status) return fail(status, { id, message: error.message });
			}
			throw error;
		}
	}
};
