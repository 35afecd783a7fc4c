/**
 * The statistics of drift, on binned counts: PSI with its per-bin table, the two-sample
 * Kolmogorov–Smirnov statistic on the bins' cumulative distributions, and Pearson's chi² test of
 * homogeneity. The chi² distribution is @stdlib's; the Kolmogorov distribution is its limiting
 * series (below), as no maintained npm package offers it for binned data.
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';

/**
 * Share given to an empty bin in PSI, so that one empty bin does not make it infinite: the same
 * floor as the score PSI of the monitoring page.
 */
export const PSI_EPSILON = 1e-4;

export interface PsiBin {
	/** Share of the baseline in this bin. */
	expected: number;
	/** Share of the window in this bin. */
	actual: number;
	/** (actual − expected) · ln(actual / expected), both floored at {@link PSI_EPSILON}. */
	contribution: number;
}

/** PSI of `actual` counts against `expected` shares (both over the same bins). */
export function psiTable(
	expected: readonly number[],
	actual: readonly number[]
): { psi: number; bins: PsiBin[] } {
	const total = sum(actual);
	const expectedTotal = sum(expected);
	const bins = expected.map((e, i) => {
		const expectedShare = expectedTotal > 0 ? e / expectedTotal : 0;
		const actualShare = total > 0 ? (actual[i] ?? 0) / total : 0;
		const a = Math.max(actualShare, PSI_EPSILON);
		const b = Math.max(expectedShare, PSI_EPSILON);
		return {
			expected: expectedShare,
			actual: actualShare,
			contribution: total > 0 ? (a - b) * Math.log(a / b) : 0
		};
	});
	return { psi: sum(bins.map((bin) => bin.contribution)), bins };
}

/**
 * Limiting Kolmogorov distribution's survival function, P(K > x) = 2 Σ (−1)^(k−1) e^(−2k²x²)
 * (Kolmogorov 1933), the asymptotic p-value of √n·D. Exact to double precision for x ≥ 0.2 within
 * 100 terms; below, P is 1 to that precision.
 */
export function kolmogorovSurvival(x: number): number {
	if (!(x > 0)) return 1;
	if (x < 0.2) return 1;
	let total = 0;
	for (let k = 1; k <= 100; k++) {
		const term = Math.exp(-2 * k * k * x * x);
		total += (k % 2 === 1 ? 1 : -1) * term;
		if (term < 1e-17) break;
	}
	return Math.min(1, Math.max(0, 2 * total));
}

/**
 * Two-sample KS on binned counts: D is the largest gap between the two cumulative distributions at
 * the bins' edges (a lower bound of the D of the raw values, which fall anywhere inside the bins);
 * the p-value is the asymptotic one for the effective size n·m/(n+m).
 */
export function ksBinned(
	baseline: readonly number[],
	actual: readonly number[]
): { statistic: number; pValue: number } {
	const n = sum(baseline);
	const m = sum(actual);
	if (n === 0 || m === 0) return { statistic: 0, pValue: 1 };
	let cumulativeN = 0;
	let cumulativeM = 0;
	let statistic = 0;
	baseline.forEach((count, i) => {
		cumulativeN += count;
		cumulativeM += actual[i] ?? 0;
		statistic = Math.max(statistic, Math.abs(cumulativeN / n - cumulativeM / m));
	});
	const effective = (n * m) / (n + m);
	return { statistic, pValue: kolmogorovSurvival(Math.sqrt(effective) * statistic) };
}

/**
 * Pearson's chi² test that two samples of counts over the same categories come from one
 * distribution (a 2 × k contingency table); categories empty in both are left out.
 */
export function chiSquareHomogeneity(
	baseline: readonly number[],
	actual: readonly number[]
): { statistic: number; degreesOfFreedom: number; pValue: number } {
	const n = sum(baseline);
	const m = sum(actual);
	const columns = baseline.map((count, i) => [count, actual[i] ?? 0] as const).filter(([a, b]) => a + b > 0);
	const degreesOfFreedom = columns.length - 1;
	if (n === 0 || m === 0 || degreesOfFreedom < 1)
		return { statistic: 0, degreesOfFreedom: Math.max(0, degreesOfFreedom), pValue: 1 };
	const total = n + m;
	let statistic = 0;
	for (const [a, b] of columns) {
		const column = a + b;
		const expectedA = (n * column) / total;
		const expectedB = (m * column) / total;
		statistic += (a - expectedA) ** 2 / expectedA + (b - expectedB) ** 2 / expectedB;
	}
	return { statistic, degreesOfFreedom, pValue: 1 - chisquareCdf(statistic, degreesOfFreedom) };
}

export type Severity = 'stable' | 'watch' | 'act';

/** Severity bands of PSI: below `watch` stable, from `watch` watch, from `act` act. */
export interface SeverityBands {
	watch: number;
	act: number;
}

export function severityOf(psi: number, bands: SeverityBands): Severity {
	return psi >= bands.act ? 'act' : psi >= bands.watch ? 'watch' : 'stable';
}

function sum(values: readonly number[]): number {
	return values.reduce((total, value) => total + value, 0);
}
