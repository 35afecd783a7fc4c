import { describe, expect, it } from 'vitest';
import {
	chiSquareHomogeneity,
	kolmogorovSurvival,
	ksBinned,
	psiTable,
	PSI_EPSILON,
	severityOf
} from './statistics';

// Reference values computed with SciPy 1.17.1:
//   scipy.stats.chi2_contingency([[30,50,20],[20,40,40]], correction=False)
//   scipy.special.kolmogorov(x), the survival function of the limiting Kolmogorov distribution.

describe('psiTable', () => {
	it('should sum (a − e) · ln(a / e) over the bins', () => {
		const { psi, bins } = psiTable([25, 25, 25, 25], [10, 20, 30, 40]);
		expect(psi).toBeCloseTo(0.22821740957339182, 12);
		expect(bins.map((bin) => bin.expected)).toEqual([0.25, 0.25, 0.25, 0.25]);
		expect(bins.map((bin) => bin.actual)).toEqual([0.1, 0.2, 0.3, 0.4]);
		expect(bins[0]?.contribution).toBeCloseTo((0.1 - 0.25) * Math.log(0.1 / 0.25), 12);
	});

	it('should floor an empty bin at the epsilon instead of going infinite', () => {
		const { psi, bins } = psiTable([0.5, 0.5], [100, 0]);
		const expected = (1 - 0.5) * Math.log(1 / 0.5) + (PSI_EPSILON - 0.5) * Math.log(PSI_EPSILON / 0.5);
		expect(psi).toBeCloseTo(expected, 12);
		expect(bins[1]?.actual).toBe(0);
	});

	it('should be zero for identical distributions and for an empty window', () => {
		expect(psiTable([1, 2, 3], [10, 20, 30]).psi).toBeCloseTo(0, 12);
		expect(psiTable([1, 2, 3], [0, 0, 0]).psi).toBe(0);
	});
});

describe('kolmogorovSurvival', () => {
	it.each([
		[0.5, 0.9639452436648751],
		[1.0, 0.26999967167735456],
		[1.36, 0.049485876755377876],
		[2.0, 0.0006709252557796953]
	])('should give P(K > %s) = %s', (x, p) => {
		expect(kolmogorovSurvival(x)).toBeCloseTo(p, 10);
	});
});

describe('ksBinned', () => {
	it('should take the largest gap of the cumulative shares and the asymptotic p-value', () => {
		const { statistic, pValue } = ksBinned([30, 50, 20], [20, 40, 40]);
		expect(statistic).toBeCloseTo(0.2, 12);
		// scipy.special.kolmogorov(sqrt(100·100/200) · 0.2)
		expect(pValue).toBeCloseTo(0.03663105270711935, 10);
	});

	it('should answer no evidence for an empty sample', () => {
		expect(ksBinned([1, 2], [0, 0])).toEqual({ statistic: 0, pValue: 1 });
	});
});

describe('chiSquareHomogeneity', () => {
	it('should match SciPy’s chi2_contingency without continuity correction', () => {
		const result = chiSquareHomogeneity([30, 50, 20], [20, 40, 40]);
		expect(result.statistic).toBeCloseTo(9.777777777777779, 10);
		expect(result.degreesOfFreedom).toBe(2);
		expect(result.pValue).toBeCloseTo(0.007529784255650024, 10);
	});

	it('should leave out categories empty in both samples', () => {
		const result = chiSquareHomogeneity([30, 50, 0, 20], [20, 40, 0, 40]);
		expect(result.degreesOfFreedom).toBe(2);
		expect(result.pValue).toBeCloseTo(0.007529784255650024, 10);
	});
});

describe('severityOf', () => {
	const bands = { watch: 0.1, act: 0.25 };
	it.each([
		[0.05, 'stable'],
		[0.1, 'watch'],
		[0.2, 'watch'],
		[0.25, 'act'],
		[1, 'act']
	] as const)('should read PSI %s as %s', (psi, severity) => {
		expect(severityOf(psi, bands)).toBe(severity);
	});
});
