/**
 * Where an applicant's value stands in the training population of the manifest
 * (`reference.features`): the share of applicants with a strictly lower or strictly higher value,
 * or, for an ordinal feature whose order means risk, a strictly better category.
 *
 * Shares are lower bounds, never overstated, so that a sentence built on one stays true:
 * - within a bin a continuous value is read by linear interpolation of the cumulative distribution;
 * - a bin's possible share at exactly the applicant's value counts for neither side: bin edges are
 *   quantiles, which land on common values (60,000 USD), and a count piles up on one whole number,
 *   so for an integer feature a bin holding the value counts for neither side at all;
 * - the percent named is rounded down to a multiple of 5 and is at most 95.
 */
import type { CategoricalReference, Feature, NumericReference } from '../manifest';

/** The share of the reference population an applicant's value is strictly below and above. */
export interface Shares {
	/** Share of non-missing reference rows with a strictly lower value (or better category). */
	below: number;
	/** Share with a strictly higher value (or worse category). */
	above: number;
}

/**
 * How the applicant compares, as a reason sentence says it: "higher than for 80 % of applicants",
 * "lower than…", or for an ordinal "worse than…".
 */
export interface Standing {
	side: 'higher' | 'lower' | 'worse';
	/** Whole percent, a multiple of 5, 5 to 95. */
	percent: number;
}

/** Percents are named in steps of this size. */
export const PERCENT_STEP = 5;
/** Never "higher than for 100 %": the reference's own extremes are applicants too. */
export const MAX_PERCENT = 95;

/** A share as the percent a sentence may name: rounded down to {@link PERCENT_STEP}, capped. */
export function namedPercent(share: number): number {
	// The epsilon keeps 0.3 (stored as 0.29999…) at 30 without lifting any real share a step.
	const percent = Math.floor((share * 100 + 1e-9) / PERCENT_STEP) * PERCENT_STEP;
	return Math.max(0, Math.min(MAX_PERCENT, percent));
}

/**
 * Lower bounds of the shares of a numeric reference strictly below and above `value`. Bins are
 * `[edges[i], edges[i+1])`, the last one closed, as numpy's histogram counts them.
 */
export function numericShares(ref: NumericReference, value: number, integer: boolean): Shares {
	const { edges, proportions } = ref;
	let below = 0;
	let above = 0;
	const last = proportions.length - 1;
	for (let i = 0; i <= last; i++) {
		const a = edges[i] ?? 0;
		const b = edges[i + 1] ?? a;
		const p = proportions[i] ?? 0;
		const closed = i === last;
		// Every value the bin can hold is below, or above, the applicant's.
		if (closed ? b < value : b <= value) below += p;
		else if (a > value) above += p;
		else if (!integer && a < value && value < b && b > a) {
			const t = (value - a) / (b - a);
			below += p * t;
			above += p * (1 - t);
		}
	}
	return { below, above };
}

/**
 * Shares of an ordinal reference in a category strictly before and after `value` in the order
 * of `categories`. Null when the value is not one of them.
 */
export function ordinalShares(
	categories: readonly string[],
	ref: CategoricalReference,
	value: string
): Shares | null {
	const at = categories.indexOf(value);
	if (at === -1) return null;
	let before = 0;
	let after = 0;
	categories.forEach((category, i) => {
		const f = ref.frequencies[category] ?? 0;
		if (i < at) before += f;
		else if (i > at) after += f;
	});
	return { below: before, above: after };
}

/** What the standing needs of a manifest feature. */
interface StandingFeature extends Pick<Feature, 'type' | 'integer' | 'riskDirection'> {
	categories: readonly string[] | null;
}

/**
 * The standing a reason sentence names, or null when none is both true and worth saying:
 * - a numeric feature with a declared `riskDirection` is compared on its risky side only
 *   ("higher" when risk rises with the value); without one, on the side with the larger share;
 * - an ordinal feature only when its order means risk (`riskDirection` set): "worse than";
 * - a categorical feature, a missing value, or a named percent of 0: null.
 */
export function standingOf(
	feature: StandingFeature,
	ref: NumericReference | CategoricalReference | undefined,
	value: number | string | null
): Standing | null {
	if (value === null || ref === undefined) return null;
	if (feature.type === 'numeric') {
		if (ref.kind !== 'numeric' || typeof value !== 'number') return null;
		const shares = numericShares(ref, value, feature.integer);
		const higher =
			feature.riskDirection === 'increasing' ||
			(feature.riskDirection == null && shares.below >= shares.above);
		return named(higher ? 'higher' : 'lower', higher ? shares.below : shares.above);
	}
	if (feature.type === 'ordinal' && feature.riskDirection != null && ref.kind === 'categorical') {
		const shares = ordinalShares(feature.categories ?? [], ref, String(value));
		if (!shares) return null;
		return named('worse', feature.riskDirection === 'increasing' ? shares.below : shares.above);
	}
	return null;
}

function named(side: Standing['side'], share: number): Standing | null {
	const percent = namedPercent(share);
	return percent > 0 ? { side, percent } : null;
}
