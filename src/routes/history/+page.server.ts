import { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { ValidationFailed } from '$lib/server/errors';
import { historyFilterOptions, type HistoryPage } from '$lib/server/services/history.service';
import { callerFor } from '$lib/server/trpc/caller';
import { toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import type { PageServerLoad } from './$types';

const FILTERS = ['from', 'to', 'decision', 'band', 'model', 'version', 'requester', 'q'] as const;
type FilterName = (typeof FILTERS)[number];

export const load: PageServerLoad = async (event) => {
	const params = event.url.searchParams;
	const filters = Object.fromEntries(
		FILTERS.map((name) => [name, params.get(name)?.slice(0, 400) ?? ''])
	) as Record<FilterName, string>;
	// One select for model and version: `lending-club` or `lending-club@xgb-1.0.0`.
	const [model = '', version = ''] = (params.get('modelVersion') ?? '').split('@');
	if (model) filters.model = model;
	if (version) filters.version = version;
	const cursor = params.get('cursor') ?? '';

	// Links keep the filters: `newest` drops the cursor, `older` moves it one page on.
	const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== ''));
	const newest = cursor ? `?${query.toString()}` : null;
	const older = (next: string | null) => {
		if (!next) return null;
		const withCursor = new URLSearchParams(query);
		withCursor.set('cursor', next);
		return `?${withCursor.toString()}`;
	};
	const options = historyFilterOptions(event.locals.core.models);
	const caller = callerFor(event);
	// Human review over the last 30 days: how often a final decision went against the model.
	const overrides = await caller.reviews.overrides({});
	const base = { filters, options, newest, filtered: query.size > 0, overrides };

	// The CSV download carries the same filters.
	const exportHref = `/history/export.csv${query.size > 0 ? `?${query.toString()}` : ''}`;
	try {
		const [page, count] = await Promise.all([
			caller.history.list({ ...filters, cursor, limit: 50 }),
			caller.history.count(filters)
		]);
		return { ...base, fieldErrors: {}, rows: page.rows, older: older(page.nextCursor), count, exportHref };
	} catch (error) {
		const fieldErrors = fieldErrorsOf(error);
		if (!fieldErrors) throw error;
		return {
			...base,
			fieldErrors,
			rows: [] as HistoryPage['rows'],
			older: null,
			count: null,
			exportHref: null
		};
	}
};

/** A refused filter's messages, or null for any other error. */
function fieldErrorsOf(error: unknown): FieldErrors | null {
	const cause = error instanceof TRPCError ? error.cause : error;
	if (cause instanceof ZodError) return toFieldErrors(cause.issues);
	if (cause instanceof ValidationFailed) return cause.fieldErrors;
	return null;
}
