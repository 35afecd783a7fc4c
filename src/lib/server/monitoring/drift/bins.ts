/**
 * Reference bins of a model version, and how a recorded prediction falls into them: the binning
 * behind `drift_counts`. Bins are the manifest's reference bins (numeric: `edges`, as NumPy's
 * histogram reads them — [e_i, e_i+1), the last closed — with values outside the edges counted in
 * the first or last bin; categorical: the reference's categories, in manifest order).
 */
import type { Manifest } from '$inference/manifest';
import { MISSING_BIN, OTHER_BIN, SCORE_FEATURE, type NewPrediction } from '../../db/schema';

export type FeatureBins =
	| {
			feature: string;
			kind: 'numeric';
			edges: readonly number[];
			proportions: readonly number[];
			missingRate: number;
	  }
	| {
			feature: string;
			kind: 'categorical';
			categories: readonly string[];
			proportions: readonly number[];
			missingRate: number;
	  };

/** The score (`$score`) and every feature that has a reference, in manifest order. */
export function referenceBins(manifest: Manifest): FeatureBins[] {
	const bins: FeatureBins[] = [];
	for (const feature of manifest.features) {
		const reference = manifest.reference.features[feature.name];
		if (!reference) continue;
		if (reference.kind === 'numeric') {
			bins.push({
				feature: feature.name,
				kind: 'numeric',
				edges: reference.edges,
				proportions: reference.proportions,
				missingRate: reference.missingRate
			});
		} else {
			const categories = Object.keys(reference.frequencies);
			bins.push({
				feature: feature.name,
				kind: 'categorical',
				categories,
				proportions: categories.map((c) => reference.frequencies[c] ?? 0),
				missingRate: reference.missingRate
			});
		}
	}
	const { edges, proportions } = manifest.reference.score;
	bins.push({ feature: SCORE_FEATURE, kind: 'numeric', edges, proportions, missingRate: 0 });
	return bins;
}

/** Index of the bin of `value` among `edges` (clamped to the first and last bin). */
export function numericBin(edges: readonly number[], value: number): number {
	const last = edges.length - 2;
	// Binary search for the last edge <= value, among edges[1..last].
	let lo = 0;
	let hi = last;
	while (lo < hi) {
		const mid = (lo + hi + 1) >> 1;
		if (value >= (edges[mid] ?? Infinity)) lo = mid;
		else hi = mid - 1;
	}
	return lo;
}

/** The bin a value falls in: a reference bin, {@link MISSING_BIN} or {@link OTHER_BIN}. */
export function binOfValue(bins: FeatureBins, value: unknown): number {
	if (value === null || value === undefined || value === '') return MISSING_BIN;
	if (bins.kind === 'numeric') {
		const number = typeof value === 'number' ? value : Number(value);
		return Number.isFinite(number) ? numericBin(bins.edges, number) : MISSING_BIN;
	}
	const index = typeof value === 'string' ? bins.categories.indexOf(value) : -1;
	return index === -1 ? OTHER_BIN : index;
}

/** How many counts a feature keeps: {@link OTHER_BIN}, {@link MISSING_BIN}, then each reference bin. */
export function countSlots(bins: FeatureBins): number {
	return (bins.kind === 'numeric' ? bins.proportions.length : bins.categories.length) + 2;
}

/** Position of a bin in a feature's counts (OTHER_BIN → 0, MISSING_BIN → 1, bin i → i + 2). */
export const positionOf = (bin: number): number => bin - OTHER_BIN;

export interface DriftCount {
	modelId: string;
	modelVersion: string;
	/** Start of the hour, ISO 8601. */
	hour: string;
	feature: string;
	/** Count per bin, at {@link positionOf} the bin. */
	counts: number[];
}

const HOUR_MS = 3_600_000;

/**
 * Counts of `rows` per (model version, hour, feature), one array of bins each, sorted by that key
 * (so that concurrent upserts lock rows in one order and cannot deadlock). `binsOf` gives a
 * version's bins, or undefined for a version without a reference (its rows are not counted).
 */
export function tally(
	rows: readonly Pick<NewPrediction, 'modelId' | 'modelVersion' | 'createdAt' | 'input' | 'probability'>[],
	binsOf: (modelId: string, modelVersion: string) => readonly FeatureBins[] | undefined,
	now: Date
): DriftCount[] {
	// One group per (version, hour), one counts array per feature: the hot path of every flush, so
	// no per-feature keys or dates.
	const groups = new Map<
		string,
		{ row: (typeof rows)[number]; hour: number; bins: readonly FeatureBins[]; counts: number[][] }
	>();
	for (const row of rows) {
		const bins = binsOf(row.modelId, row.modelVersion);
		if (!bins) continue;
		const hour = Math.floor((row.createdAt ?? now).getTime() / HOUR_MS) * HOUR_MS;
		const key = `${row.modelId}\u0000${row.modelVersion}\u0000${hour}`;
		let group = groups.get(key);
		if (!group) {
			group = {
				row,
				hour,
				bins,
				counts: bins.map((feature) => new Array<number>(countSlots(feature)).fill(0))
			};
			groups.set(key, group);
		}
		for (let f = 0; f < bins.length; f++) {
			const feature = bins[f] as FeatureBins;
			const value = feature.feature === SCORE_FEATURE ? row.probability : row.input[feature.feature];
			const counts = group.counts[f] as number[];
			const position = positionOf(binOfValue(feature, value));
			counts[position] = (counts[position] ?? 0) + 1;
		}
	}
	const out: DriftCount[] = [];
	for (const { row, hour, bins, counts } of groups.values()) {
		const iso = new Date(hour).toISOString();
		bins.forEach((feature, f) =>
			out.push({
				modelId: row.modelId,
				modelVersion: row.modelVersion,
				hour: iso,
				feature: feature.feature,
				counts: counts[f] as number[]
			})
		);
	}
	return out.sort(
		(a, b) =>
			compare(a.modelId, b.modelId) ||
			compare(a.modelVersion, b.modelVersion) ||
			compare(a.hour, b.hour) ||
			compare(a.feature, b.feature)
	);
}

function compare(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}
