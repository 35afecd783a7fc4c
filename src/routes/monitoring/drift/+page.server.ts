import { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { ValidationFailed } from '$lib/server/errors';
import { callerFor } from '$lib/server/trpc/caller';
import { toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import type { PageServerLoad } from './$types';

const HOUR = 3_600_000;
/** The heat-map's columns for each granularity: how many windows, how long each. */
const GRIDS = {
	hour: { count: 24, ms: HOUR, label: 'the last 24 hours, by hour' },
	day: { count: 14, ms: 24 * HOUR, label: 'the last 14 days, by day' },
	week: { count: 8, ms: 7 * 24 * HOUR, label: 'the last 8 weeks, by week' }
} as const;
type Grid = keyof typeof GRIDS;

/**
 * The drift page: a features × windows heat-map of PSI severity for one model version, and the
 * drill-down of one feature in one window (bins, KS or chi², missing rate). Every figure is
 * `drift.get`'s (REST `GET /api/v1/models/{model}/drift`), one call per window; a bad filter is
 * shown as field errors beside the form.
 */
export const load: PageServerLoad = async (event) => {
	const params = event.url.searchParams;
	const caller = callerFor(event);
	const models = await caller.models.list();
	const grid: Grid = (['hour', 'day', 'week'] as const).find((g) => g === params.get('grid')) ?? 'day';
	const filters = {
		model: params.get('model')?.slice(0, 64) || (models[0]?.id ?? ''),
		version: params.get('version')?.slice(0, 64) ?? '',
		grid,
		baseline: params.get('baseline') === 'previous' ? 'previous' : 'reference',
		feature: params.get('feature')?.slice(0, 64) ?? '',
		column: params.get('column') ?? ''
	} as const;
	const options = models.map((m) => ({
		id: m.id,
		name: m.name,
		champion: m.champion,
		versions: m.versions.map((v) => v.version)
	}));

	// Whole windows ending at the next full hour, oldest first.
	const { count, ms } = GRIDS[grid];
	const end = Math.ceil(Date.now() / HOUR) * HOUR;
	const spans = Array.from({ length: count }, (_, i) => ({
		from: new Date(end - (count - i) * ms).toISOString(),
		to: new Date(end - (count - i - 1) * ms).toISOString()
	}));
	try {
		const windows = await Promise.all(
			spans.map((span) =>
				caller.drift.get({
					model: filters.model,
					...(filters.version ? { version: filters.version } : {}),
					from: span.from,
					to: span.to,
					baseline: filters.baseline
				})
			)
		);
		return { filters, options, grid: GRIDS[grid], fieldErrors: {}, windows };
	} catch (error) {
		const fieldErrors = fieldErrorsOf(error);
		if (!fieldErrors) throw error;
		return { filters, options, grid: GRIDS[grid], fieldErrors, windows: [] };
	}
};

/** A refused filter's messages (400, or 404 for an unknown model or version), or null otherwise. */
function fieldErrorsOf(error: unknown): FieldErrors | null {
	if (error instanceof TRPCError && error.code === 'NOT_FOUND')
		return { [/version/i.test(error.message) ? 'version' : 'model']: [error.message] };
	const cause = error instanceof TRPCError ? error.cause : error;
	if (cause instanceof ZodError) return toFieldErrors(cause.issues);
	if (cause instanceof ValidationFailed) return cause.fieldErrors;
	return null;
}
