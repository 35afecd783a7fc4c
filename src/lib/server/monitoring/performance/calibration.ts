/**
 * Calibration tables: expected default rate (mean probability) against the observed one, per risk
 * band of the manifest and per decile of probability.
 */
import type { ScoreGroup } from './roc';

export interface CalibrationRow {
	/** The band's name, or the decile's number (1 = lowest probabilities). */
	group: string;
	n: number;
	defaults: number;
	/** Mean probability of the group's loans. */
	expected: number;
	/** Share of them that went bad. */
	observed: number;
	/** Lowest and highest probability in the group. */
	minProbability: number;
	maxProbability: number;
}

function row(group: string, groups: readonly ScoreGroup[]): CalibrationRow | null {
	let n = 0;
	let defaults = 0;
	let sum = 0;
	let min = Infinity;
	let max = -Infinity;
	for (const g of groups) {
		if (g.count === 0) continue;
		n += g.count;
		defaults += g.bad;
		sum += g.score * g.count;
		min = Math.min(min, g.score);
		max = Math.max(max, g.score);
	}
	if (n === 0) return null;
	return {
		group,
		n,
		defaults,
		expected: sum / n,
		observed: defaults / n,
		minProbability: min,
		maxProbability: max
	};
}

/**
 * Deciles of probability: a group of equal probabilities falls wholly in the tenth its middle rank
 * falls in, so loans with the same probability are never split (with many ties, deciles differ in
 * size and some may be empty, and are left out). `groups` must be ascending with distinct scores.
 */
export function decileCalibration(groups: readonly ScoreGroup[]): CalibrationRow[] {
	const n = groups.reduce((sum, g) => sum + g.count, 0);
	if (n === 0) return [];
	const deciles: ScoreGroup[][] = Array.from({ length: 10 }, () => []);
	let before = 0;
	for (const group of groups) {
		const middle = before + group.count / 2;
		deciles[Math.min(9, Math.floor((middle / n) * 10))]!.push(group);
		before += group.count;
	}
	return deciles.flatMap((members, i) => {
		const calibrated = row(String(i + 1), members);
		return calibrated ? [calibrated] : [];
	});
}

/** One row per band, in the order given (the manifest's), bands without loans left out. */
export function bandCalibration(
	bands: readonly string[],
	groupsByBand: ReadonlyMap<string, readonly ScoreGroup[]>
): CalibrationRow[] {
	const known = new Set(bands);
	// A band the manifest no longer names (a stored row of an older policy) is listed after.
	const order = [...bands, ...[...groupsByBand.keys()].filter((band) => !known.has(band)).sort()];
	return order.flatMap((band) => {
		const calibrated = row(band, groupsByBand.get(band) ?? []);
		return calibrated ? [calibrated] : [];
	});
}
