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

export interface DriftCount {
	modelId: string;
	modelVersion: string;
	/** Start of the hour, ISO 8601. */
	hour: string;
	feature: string;
	bin: number;
	count: number;
}

const HOUR_MS = 3_600_000;

/**
 * Counts of `rows` per (model version, hour, feature, bin), sorted by that key (so that concurrent
 * upserts lock rows in one order and cannot deadlock). `binsOf` gives a version's bins, or
 * undefined for a version without a reference (its rows are not counted).
 */
export function tally(
	rows: readonly Pick<NewPrediction, 'modelId' | 'modelVersion' | 'createdAt' | 'input' | 'probability'>[],
	binsOf: (modelId: string, modelVersion: string) => readonly FeatureBins[] | undefined,
	now: Date
): DriftCount[] {
	const counts = new Map<string, DriftCount>();
	for (const row of rows) {
		const bins = binsOf(row.modelId, row.modelVersion);
		if (!bins) continue;
		const at = (row.createdAt ?? now).getTime();
		const hour = new Date(Math.floor(at / HOUR_MS) * HOUR_MS).toISOString();
		for (const feature of bins) {
			const value = feature.feature === SCORE_FEATURE ? row.probability : row.input[feature.feature];
			const bin = binOfValue(feature, value);
			const key = `${row.modelId}\u0000${row.modelVersion}\u0000${hour}\u0000${feature.feature}\u0000${bin}`;
			const entry = counts.get(key);
			if (entry) entry.count += 1;
			else
				counts.set(key, {
					modelId: row.modelId,
					modelVersion: row.modelVersion,
					hour,
					feature: feature.feature,
					bin,
					count: 1
				});
		}
	}
	return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, count]) => count);
}
