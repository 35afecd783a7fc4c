/**
 * Performance expected before any outcome is known, from the calibrated probabilities alone
 * (the idea of NannyML's CBPE): if each loan goes bad with its stated probability, independently,
 * what AUC and what bad rate should the realised figures show? Once outcomes arrive the two are
 * set side by side; a gap beyond sampling noise says the probabilities no longer hold (concept
 * shift or miscalibration), which drift of the inputs alone cannot tell.
 */
import type { ScoreGroup } from './roc';

/** Loans that share one probability (`count`); the labels are not read. */
export type ScoreCount = Pick<ScoreGroup, 'score' | 'count'>;

/**
 * The expected Mann–Whitney AUC, computed exactly from the probabilities: the expected number of
 * (bad, good) pairs in which the bad loan scores higher (ties half), over the expected number of
 * (bad, good) pairs, with each loan bad with its probability and loans independent. For loans i ≠ j
 * the pair (i bad, j good) has probability pᵢ(1 − pⱼ), so both sums are over ordered pairs of
 * distinct loans; a ratio of expectations, which differs from the expectation of the ratio by
 * O(1/n). Linear in the number of distinct probabilities once they are sorted. Null for fewer than
 * two loans. `groups` must be ascending with distinct scores.
 */
export function expectedAuc(groups: readonly ScoreCount[]): number | null {
	let n = 0;
	let sumP = 0;
	let sumPQ = 0;
	let numerator = 0;
	// Σ (1 − p) over the loans strictly below the current score.
	let goodMassBelow = 0;
	for (const { score: p, count } of groups) {
		const q = 1 - p;
		// Pairs with a lower score, then pairs within the group (other loans of equal score: half).
		numerator += count * p * goodMassBelow + 0.5 * count * (count - 1) * p * q;
		goodMassBelow += count * q;
		n += count;
		sumP += count * p;
		sumPQ += count * p * q;
	}
	if (n < 2) return null;
	const denominator = sumP * (n - sumP) - sumPQ;
	return denominator > 0 ? numerator / denominator : null;
}

/** Mean probability: the expected default rate of these loans. Null for none. */
export function expectedRate(groups: readonly ScoreCount[]): number | null {
	let n = 0;
	let sum = 0;
	for (const { score, count } of groups) {
		n += count;
		sum += score * count;
	}
	return n === 0 ? null : sum / n;
}
