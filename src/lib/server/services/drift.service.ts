/**
 * Drift of a model version's inputs and score over a window, against the manifest's reference or
 * the window before: PSI per feature with its bin table, KS (numeric) or chi² (categorical), the
 * change of the missing rate, and the score's PSI. Read from the hourly `drift_counts`, never from
 * `predictions` (docs/drift.md).
 */
import { z } from 'zod';
import type { Database } from '../db';
import { MISSING_BIN, OTHER_BIN, SCORE_FEATURE } from '../db/schema';
import { ValidationFailed } from '../errors';
import { referenceBins, type FeatureBins } from '../monitoring/drift/bins';
import { windowCounts } from '../monitoring/drift/counts';
import {
	chiSquareHomogeneity,
	ksBinned,
	psiTable,
	severityOf,
	type PsiBin,
	type Severity,
	type SeverityBands
} from '../monitoring/drift/statistics';
import type { ModelRegistry } from './models.service';

const HOUR_MS = 3_600_000;
export const driftWindows = { hour: HOUR_MS, day: 24 * HOUR_MS, week: 7 * 24 * HOUR_MS } as const;
export type DriftWindow = keyof typeof driftWindows;
/** Longest custom range, so that one request reads a bounded number of hours. */
export const MAX_RANGE_DAYS = 366;
/** Dates a window may start or end at (PostgreSQL's timestamptz holds far more; no prediction does). */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

export const driftInputSchema = z.strictObject({
	model: z.string().min(1).max(64),
	version: z.string().min(1).max(64).optional(),
	window: z
		.enum(Object.keys(driftWindows) as [DriftWindow, ...DriftWindow[]], {
			error: 'Window must be hour, day or week.'
		})
		.optional()
		.describe('The last hour, day or week up to now (default day). Not with from/to.'),
	from: z.iso.datetime({ offset: true, error: 'Not an ISO 8601 date-time.' }).optional(),
	to: z.iso.datetime({ offset: true, error: 'Not an ISO 8601 date-time.' }).optional(),
	baseline: z
		.enum(['reference', 'previous'], { error: 'Baseline must be reference or previous.' })
		.default('reference')
		.describe('reference: the manifest’s training distribution; previous: the window of equal length before.')
});
export type DriftInput = z.input<typeof driftInputSchema>;

export interface DriftBinView extends PsiBin {
	/** `[a, b)` for a numeric bin, the category for a categorical one, `other` for unseen categories. */
	label: string;
	/** Count in the window. */
	count: number;
}

export interface FeatureDriftView {
	feature: string;
	kind: 'numeric' | 'categorical';
	/** Predictions counted in the window (missing values included). */
	count: number;
	psi: number;
	/** Null when the window holds no prediction. */
	severity: Severity | null;
	bins: DriftBinView[];
	ks: { statistic: number; pValue: number } | null;
	chiSquare: { statistic: number; degreesOfFreedom: number; pValue: number } | null;
	missingRate: { baseline: number; actual: number; change: number };
}

export interface DriftView {
	model: string;
	version: string;
	window: { from: string; to: string };
	baseline: { kind: 'reference' | 'previous'; from: string | null; to: string | null; count: number };
	/** Predictions in the window. */
	count: number;
	bands: SeverityBands;
	score: FeatureDriftView;
	features: FeatureDriftView[];
}

/** Drift of one model version over one window; bad windows are field errors, unknown models 404. */
export async function computeDrift(
	deps: { db: Pick<Database, 'execute'>; models: ModelRegistry; bands: SeverityBands },
	rawInput: DriftInput,
	now = Date.now()
): Promise<DriftView> {
	const input = driftInputSchema.parse(rawInput);
	const version = deps.models.resolve(input.model, input.version);
	const { from, to } = windowOf(input, now);
	const model = { id: version.manifest.model.id, version: version.manifest.model.version };
	const current = await windowCounts(deps.db, model, from, to);
	const baselineRange =
		input.baseline === 'previous'
			? { from: new Date(from.getTime() - (to.getTime() - from.getTime())), to: from }
			: null;
	const previous = baselineRange
		? await windowCounts(deps.db, model, baselineRange.from, baselineRange.to)
		: null;
	const referenceRows = version.manifest.training.trainRows;
	const views = referenceBins(version.manifest).map((bins) =>
		featureDrift(
			bins,
			current.get(bins.feature),
			previous ? (previous.get(bins.feature) ?? new Map()) : null,
			referenceRows,
			deps.bands
		)
	);
	const score = views.find((view) => view.feature === SCORE_FEATURE) as FeatureDriftView;
	return {
		model: model.id,
		version: model.version,
		window: { from: from.toISOString(), to: to.toISOString() },
		baseline: {
			kind: input.baseline,
			from: baselineRange?.from.toISOString() ?? null,
			to: baselineRange?.to.toISOString() ?? null,
			count: previous ? total(previous.get(SCORE_FEATURE)) : referenceRows
		},
		count: score.count,
		bands: deps.bands,
		score,
		features: views.filter((view) => view.feature !== SCORE_FEATURE)
	};
}

/**
 * The window's hours: [from, to) with `from` floored and `to` raised to whole hours, as counts are
 * hourly. `window` ends at the end of the current hour.
 */
export function windowOf(input: z.output<typeof driftInputSchema>, now: number): { from: Date; to: Date } {
	const errors: Record<string, string[]> = {};
	if (input.window && (input.from || input.to))
		errors.window = ['Give either a window or from/to, not both.'];
	if (input.to && !input.from) errors.from = ['Give from with to.'];
	const fromMs = input.from ? Date.parse(input.from) : undefined;
	const toMs = input.to ? Date.parse(input.to) : undefined;
	for (const [field, ms] of [
		['from', fromMs],
		['to', toMs]
	] as const) {
		if (ms !== undefined && (ms < EARLIEST || ms > LATEST))
			errors[field] = ['Must be between 2000-01-01 and 2100-01-01.'];
	}
	if (Object.keys(errors).length === 0 && fromMs !== undefined) {
		const end = toMs ?? now;
		if (fromMs >= end) errors.from = ['Must be before to.'];
		else if (end - fromMs > MAX_RANGE_DAYS * 24 * HOUR_MS)
			errors.to = [`A range spans at most ${MAX_RANGE_DAYS} days.`];
	}
	if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
	if (fromMs !== undefined) {
		const end = toMs ?? now;
		return { from: new Date(floorHour(fromMs)), to: new Date(ceilHour(end)) };
	}
	const to = floorHour(now) + HOUR_MS;
	return { from: new Date(to - driftWindows[input.window ?? 'day']), to: new Date(to) };
}

function featureDrift(
	bins: FeatureBins,
	counts: Map<number, number> | undefined,
	previous: Map<number, number> | null,
	referenceRows: number,
	bands: SeverityBands
): FeatureDriftView {
	const size = bins.kind === 'numeric' ? bins.proportions.length : bins.categories.length + 1;
	const indexOf = (i: number) => (bins.kind === 'categorical' && i === size - 1 ? OTHER_BIN : i);
	const actual = Array.from({ length: size }, (_, i) => counts?.get(indexOf(i)) ?? 0);
	const missing = counts?.get(MISSING_BIN) ?? 0;
	const count = total(counts);
	const expectedCounts = previous
		? Array.from({ length: size }, (_, i) => previous.get(indexOf(i)) ?? 0)
		: [...bins.proportions, ...(bins.kind === 'categorical' ? [0] : [])].map((p) => p * referenceRows);
	const baselineMissing = previous
		? total(previous) > 0
			? (previous.get(MISSING_BIN) ?? 0) / total(previous)
			: 0
		: bins.missingRate;
	const { psi, bins: table } = psiTable(expectedCounts, actual);
	const actualMissing = count > 0 ? missing / count : 0;
	return {
		feature: bins.feature,
		kind: bins.kind,
		count,
		psi,
		severity: count - missing > 0 ? severityOf(psi, bands) : null,
		bins: table.map((bin, i) => ({ ...bin, label: labelOf(bins, i), count: actual[i] ?? 0 })),
		ks: bins.kind === 'numeric' ? ksBinned(expectedCounts, actual) : null,
		chiSquare: bins.kind === 'categorical' ? chiSquareHomogeneity(expectedCounts, actual) : null,
		missingRate: { baseline: baselineMissing, actual: actualMissing, change: actualMissing - baselineMissing }
	};
}

function labelOf(bins: FeatureBins, i: number): string {
	if (bins.kind === 'categorical') return bins.categories[i] ?? 'other';
	const last = i === bins.edges.length - 2;
	return `[${bins.edges[i]}, ${bins.edges[i + 1]}${last ? ']' : ')'}`;
}

function total(counts: Map<number, number> | undefined): number {
	let sum = 0;
	for (const n of counts?.values() ?? []) sum += n;
	return sum;
}

const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;
