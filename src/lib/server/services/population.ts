/**
 * Applicant vs population: where an applicant's value of a feature stands in the model's training
 * distribution, read from the manifest's reference (decile bins for numbers, frequencies for
 * categories).
 */
import type { Feature, Manifest, RawApplicant } from '$inference/manifest';
import { formatNumber, formatPercent, formatShare } from '$lib/scoring/format';
import type { PopulationView } from '$lib/scoring/types';
import { describeValue } from './applicant-form';

/** How many features, by |SHAP| for this applicant, the panel shows. */
export const POPULATION_FEATURES = 5;

/** The applicant against the training population for the features that moved its score most. */
export function applicantVsPopulation(
	manifest: Manifest,
	applicant: RawApplicant,
	shap: Record<string, number>,
	count = POPULATION_FEATURES
): PopulationView[] {
	return manifest.features
		.filter((f) => manifest.reference.features[f.name])
		.sort((a, b) => Math.abs(shap[b.name] ?? 0) - Math.abs(shap[a.name] ?? 0))
		.slice(0, count)
		.map((f) => standing(manifest, f, applicant[f.name] ?? null, shap[f.name] ?? 0));
}

/** One feature's standing; exported for tests. */
export function standing(
	manifest: Manifest,
	f: Feature,
	value: number | string | null,
	shap: number
): PopulationView {
	const reference = manifest.reference.features[f.name];
	const base = { feature: f.name, label: f.label, value: describeValue(f, value), shap };
	if (!reference) throw new Error(`no reference distribution for ${f.name}`);
	const missing =
		value === null
			? `Unknown; ${formatPercent(reference.missingRate, 0)} of training applicants had it missing.`
			: null;
	if (reference.kind === 'categorical') {
		const categories = f.categories ?? Object.keys(reference.frequencies);
		const bins = categories.map((c) => ({
			label: describeValue(f, c),
			share: reference.frequencies[c] ?? 0,
			applicant: c === value
		}));
		const share = typeof value === 'string' ? (reference.frequencies[value] ?? 0) : 0;
		return {
			...base,
			kind: 'categorical',
			bins,
			percentile: null,
			summary:
				missing ??
				`${formatShare(share)} of training applicants had “${describeValue(f, value)}”${
					share === Math.max(...bins.map((b) => b.share)) ? ', the most common value' : ''
				}.`
		};
	}
	const { edges, proportions } = reference;
	const unit = f.unit ? ` ${f.unit}` : '';
	const bins = proportions.map((share, i) => ({
		label: `${formatNumber(edges[i] ?? 0)}–${formatNumber(edges[i + 1] ?? 0)}${unit}`,
		share,
		applicant: false
	}));
	if (typeof value !== 'number') {
		return { ...base, kind: 'numeric', bins, percentile: null, summary: missing ?? '' };
	}
	const index = binOf(edges, value);
	const bin = bins[index];
	if (bin) bin.applicant = true;
	const percentile = percentileOf(edges, proportions, value);
	const median = `${formatNumber(reference.quantiles.p50)}${unit}`;
	const first = edges[0] ?? value;
	const last = edges.at(-1) ?? value;
	const outside =
		value < first ? ' — below every training value' : value > last ? ' — above every training value' : '';
	return {
		...base,
		kind: 'numeric',
		bins,
		percentile,
		summary: `Higher than about ${formatPercent(percentile, 0)} of training applicants (median ${median})${outside}.`
	};
}

/** The bin holding `value`: bins are [a, b) except the last, [a, b]; outside values go to the ends. */
export function binOf(edges: readonly number[], value: number): number {
	const bins = edges.length - 1;
	for (let i = 0; i < bins; i++) if (value < (edges[i + 1] ?? Infinity)) return i;
	return bins - 1;
}

/** Share of training applicants below `value`, interpolated within its bin. */
export function percentileOf(
	edges: readonly number[],
	proportions: readonly number[],
	value: number
): number {
	const index = binOf(edges, value);
	let below = 0;
	for (let i = 0; i < index; i++) below += proportions[i] ?? 0;
	const a = edges[index] ?? value;
	const b = edges[index + 1] ?? value;
	const within = b > a ? Math.min(1, Math.max(0, (value - a) / (b - a))) : 1;
	return Math.min(1, Math.max(0, below + (proportions[index] ?? 0) * within));
}
