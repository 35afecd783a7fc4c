/**
 * Discrimination of a set of scored, labelled loans, computed exactly from grouped scores: each
 * group is one distinct probability with how many loans had it and how many of them went bad, so
 * ties are handled by counting them half (the Mann–Whitney convention, as `roc_auc_score`) and
 * the database can send counts per probability instead of one row per loan.
 *
 * The confidence interval of the AUC is DeLong's (DeLong, DeLong & Clarke-Pearson, 1988): the
 * variance from the placement values of each bad and each good loan, exact with ties. No package
 * on npm implements it (the statistics libraries stop at distributions), so it is written here,
 * with its unit specs against values worked by hand and by pairwise counting.
 */

/** Loans that share one probability: how many, and how many of them went bad. */
export interface ScoreGroup {
	score: number;
	count: number;
	bad: number;
}

export interface AucInterval {
	value: number;
	/** DeLong standard error; null with fewer than two bad or two good loans. */
	standardError: number | null;
	lower: number | null;
	upper: number | null;
}

/** The 97.5 % quantile of the standard normal: a two-sided 95 % interval. */
export const Z_95 = 1.959963984540054;

/** Groups sorted by ascending score, equal scores merged (the input may hold any order and repeats). */
export function normaliseGroups(groups: readonly ScoreGroup[]): ScoreGroup[] {
	const merged = new Map<number, ScoreGroup>();
	for (const group of groups) {
		if (group.count <= 0) continue;
		const held = merged.get(group.score);
		if (held) {
			held.count += group.count;
			held.bad += group.bad;
		} else merged.set(group.score, { ...group });
	}
	return [...merged.values()].sort((a, b) => a.score - b.score);
}

function totals(groups: readonly ScoreGroup[]): { bad: number; good: number } {
	let bad = 0;
	let good = 0;
	for (const group of groups) {
		bad += group.bad;
		good += group.count - group.bad;
	}
	return { bad, good };
}

/**
 * AUC (probability that a bad loan scores above a good one, ties half) with DeLong's 95 %
 * interval, clipped to [0, 1]. Null when there is no bad or no good loan. `groups` must be
 * normalised (ascending, distinct scores).
 */
export function aucWithInterval(groups: readonly ScoreGroup[], z = Z_95): AucInterval | null {
	const { bad: n1, good: n0 } = totals(groups);
	if (n1 === 0 || n0 === 0) return null;
	// Placement of a bad loan: the share of good loans it outranks; of a good loan: the share of
	// bad loans that outrank it (ties count half in both).
	const placements: { bad: number; good: number; v10: number; v01: number }[] = [];
	let goodBelow = 0;
	let badBelow = 0;
	let sum = 0;
	for (const group of groups) {
		const good = group.count - group.bad;
		const v10 = (goodBelow + good / 2) / n0;
		const v01 = (n1 - badBelow - group.bad + group.bad / 2) / n1;
		placements.push({ bad: group.bad, good, v10, v01 });
		sum += group.bad * v10;
		goodBelow += good;
		badBelow += group.bad;
	}
	const value = sum / n1;
	if (n1 < 2 || n0 < 2) return { value, standardError: null, lower: null, upper: null };
	let s10 = 0;
	let s01 = 0;
	for (const p of placements) {
		s10 += p.bad * (p.v10 - value) ** 2;
		s01 += p.good * (p.v01 - value) ** 2;
	}
	const variance = s10 / (n1 - 1) / n1 + s01 / (n0 - 1) / n0;
	const standardError = Math.sqrt(variance);
	return {
		value,
		standardError,
		lower: Math.max(0, value - z * standardError),
		upper: Math.min(1, value + z * standardError)
	};
}

/**
 * Kolmogorov–Smirnov statistic as credit scoring reads it: the largest gap between the share of
 * bad loans and the share of good loans at or above a cut-off, max(TPR − FPR) over every cut-off
 * (as the training report computes it from `roc_curve`). Null without bad or good loans.
 */
export function ksStatistic(groups: readonly ScoreGroup[]): number | null {
	const { bad: n1, good: n0 } = totals(groups);
	if (n1 === 0 || n0 === 0) return null;
	let best = 0;
	let badAbove = 0;
	let goodAbove = 0;
	for (let i = groups.length - 1; i >= 0; i--) {
		const group = groups[i]!;
		badAbove += group.bad;
		goodAbove += group.count - group.bad;
		best = Math.max(best, badAbove / n1 - goodAbove / n0);
	}
	return best;
}

/** Mean squared difference between the probability and the 0/1 outcome. Null for no loans. */
export function brierScore(groups: readonly ScoreGroup[]): number | null {
	let n = 0;
	let sum = 0;
	for (const group of groups) {
		n += group.count;
		sum += group.bad * (1 - group.score) ** 2 + (group.count - group.bad) * group.score ** 2;
	}
	return n === 0 ? null : sum / n;
}
