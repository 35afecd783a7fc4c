import { alertRules, alertStatuses } from '$lib/server/db/schema';
import { callerFor } from '$lib/server/trpc/caller';
import { boundedInstant } from '$lib/validation/dates';
import type { PageServerLoad } from './$types';

const PAGE_SIZE = 50;

export const load: PageServerLoad = async (event) => {
	const params = event.url.searchParams;
	// Unknown filter values are ignored rather than refused: they come from links and typed URLs.
	const status = alertStatuses.find((value) => value === params.get('status'));
	const rule = alertRules.find((value) => value === params.get('rule'));
	const beforeParam = params.get('before');
	const before = beforeParam && boundedInstant.safeParse(beforeParam).success ? beforeParam : undefined;
	const caller = callerFor(event);
	const alerts = await caller.monitoring.alerts({ status, rule, before, limit: PAGE_SIZE });
	const last = alerts.at(-1);
	const query = new URLSearchParams();
	if (status) query.set('status', status);
	if (rule) query.set('rule', rule);
	const older = alerts.length === PAGE_SIZE && last ? new URLSearchParams(query) : null;
	older?.set('before', last?.raisedAt ?? '');
	return {
		alerts,
		filters: { status: status ?? '', rule: rule ?? '' },
		statuses: alertStatuses,
		rules: alertRules,
		older: older ? `?${older.toString()}` : null,
		newest: before ? `?${query.toString()}` : null
	};
};
