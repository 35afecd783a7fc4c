import { reportKinds } from '$lib/server/db/schema';
import { field, refused } from '$lib/server/forms';
import { callerFor } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	// An unknown kind in the URL is ignored rather than refused: it comes from links and typed URLs.
	const kind = reportKinds.find((value) => value === event.url.searchParams.get('kind'));
	const { reports, schedule } = await callerFor(event).reports.list({ kind, limit: 100 });
	return {
		reports,
		schedule,
		kind: kind ?? '',
		kinds: reportKinds,
		canRun: event.locals.principal?.role === 'admin'
	};
};

export const actions: Actions = {
	/** An administrator builds the report of the last whole day or week now (audited). */
	run: async (event) => {
		const kind = field(await event.request.formData(), 'kind');
		try {
			const outcome = await callerFor(event).reports.run({ kind: kind as 'daily' });
			return { ran: { id: outcome.report.id, created: outcome.created, status: outcome.report.status } };
		} catch (error) {
			return refused(error, { form: 'run', values: { kind } });
		}
	}
};
