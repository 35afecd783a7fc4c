import { error } from '@sveltejs/kit';
import { field, refused } from '$lib/server/forms';
import { callerFor } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

/**
 * A model's backtests with their progress (`models.backtest.list`, REST
 * `GET /api/v1/models/{model}/backtests`), and for administrators the form that starts one.
 */
export const load: PageServerLoad = async (event) => {
	const caller = callerFor(event);
	const family = (await caller.models.list()).find((m) => m.id === event.params.model);
	if (!family) error(404, `No model "${event.params.model}".`);
	return {
		model: { id: family.id, name: family.name, champion: family.champion },
		versions: family.versions
			.filter((v) => v.status !== 'retired')
			.map((v) => ({ version: v.version, status: v.status })),
		backtests: await caller.models.backtest.list({ model: family.id }),
		// The procedure checks the role again; this only decides whether to show the form.
		canStart: event.locals.principal?.role === 'admin'
	};
};

export const actions: Actions = {
	/** Queues a backtest (audited, with the reason). */
	start: async (event) => {
		const data = await event.request.formData();
		const values = {
			version: field(data, 'version'),
			from: field(data, 'from'),
			to: field(data, 'to'),
			reason: field(data, 'reason')
		};
		try {
			const backtest = await callerFor(event).models.backtest.start({
				model: event.params.model,
				...values
			});
			return { form: 'start', started: backtest.id };
		} catch (cause) {
			return refused(cause, { form: 'start', values });
		}
	}
};
