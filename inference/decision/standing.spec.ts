import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NumericReference } from '../manifest';
import { namedPercent, numericShares, ordinalShares, standingOf } from './standing';

/** Deciles of 0…100 (ten equal bins). */
const even: NumericReference = {
	kind: 'numeric',
	edges: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
	proportions: Array.from({ length: 10 }, () => 0.1),
	missingRate: 0,
	mean: 50,
	quantiles: { p05: 5, p25: 25, p50: 50, p75: 75, p95: 95 }
};
/** A count that piles up on 0: 80 % have 0, 20 % have 1 to 22. */
const counts: NumericReference = {
	kind: 'numeric',
	edges: [0, 1, 22],
	proportions: [0.8, 0.2],
	missingRate: 0,
	mean: 0.3,
	quantiles: { p05: 0, p25: 0, p50: 0, p75: 0, p95: 2 }
};
const numeric = { type: 'numeric', integer: false, categories: null, riskDirection: null } as const;

describe('namedPercent', () => {
	it('should round down to a multiple of 5 and never name more than 95', () => {
		expect(namedPercent(0.849)).toBe(80);
		expect(namedPercent(0.85)).toBe(85);
		expect(namedPercent(0.3)).toBe(30);
		expect(namedPercent(0.049)).toBe(0);
		expect(namedPercent(1)).toBe(95);
		expect(namedPercent(0)).toBe(0);
	});
});

describe('numericShares', () => {
	it('should interpolate a continuous value within its bin', () => {
		const s = numericShares(even, 35, false);
		expect(s.below).toBeCloseTo(0.35, 12);
		expect(s.above).toBeCloseTo(0.65, 12);
	});

	it('should give nothing below the first edge and everything above it, and the reverse past the last', () => {
		expect(numericShares(even, -5, false).below).toBe(0);
		expect(numericShares(even, -5, false).above).toBeCloseTo(1, 12);
		expect(numericShares(even, 150, false).below).toBeCloseTo(1, 12);
		expect(numericShares(even, 150, false).above).toBe(0);
	});

	it('should count the bin that may hold the exact value for neither side at the range ends', () => {
		// At 0 the first bin holds 0 itself; at 100 the last (closed) bin holds 100.
		expect(numericShares(even, 0, false).above).toBeCloseTo(0.9, 12);
		expect(numericShares(even, 100, false).below).toBeCloseTo(0.9, 12);
		// On an inner edge: the bins before are all strictly lower, the bin starting there is not higher.
		expect(numericShares(even, 60, false).below).toBeCloseTo(0.6, 12);
		expect(numericShares(even, 60, false).above).toBeCloseTo(0.3, 12);
	});

	it('should not spread a count over its bin: 0 delinquencies is lower than for the 20 % with some', () => {
		expect(numericShares(counts, 0, true)).toEqual({ below: 0, above: 0.2 });
		expect(numericShares(counts, 1, true)).toEqual({ below: 0.8, above: 0 });
		expect(numericShares(counts, 5, true)).toEqual({ below: 0.8, above: 0 });
	});

	it('should never give shares that add up to more than the whole', () => {
		fc.assert(
			fc.property(fc.double({ min: -50, max: 150, noNaN: true }), fc.boolean(), (v, integer) => {
				const s = numericShares(even, v, integer);
				expect(s.below + s.above).toBeLessThanOrEqual(1 + 1e-12);
				expect(s.below).toBeGreaterThanOrEqual(0);
			})
		);
	});
});

describe('ordinalShares', () => {
	it('should give the shares of categories before and after, null for an unknown one', () => {
		const ref = { kind: 'categorical', frequencies: { A: 0.3, B: 0.4, C: 0.3 }, missingRate: 0 } as const;
		expect(ordinalShares(['A', 'B', 'C'], ref, 'B')).toEqual({ below: 0.3, above: 0.3 });
		expect(ordinalShares(['A', 'B', 'C'], ref, 'A')).toEqual({ below: 0, above: 0.7 });
		expect(ordinalShares(['A', 'B', 'C'], ref, 'Z')).toBeNull();
	});
});

describe('standingOf', () => {
	it('should compare on the risky side when the manifest declares one', () => {
		const income = { ...numeric, riskDirection: 'decreasing' } as const;
		expect(standingOf(income, even, 15)).toEqual({ side: 'lower', percent: 85 });
		// On an edge the bin starting there may hold applicants with exactly 20: 70 %, not 80 %.
		expect(standingOf(income, even, 20)).toEqual({ side: 'lower', percent: 70 });
		// A high income raising risk gets no comparison rather than a reassuring one.
		expect(standingOf(income, even, 100)).toBeNull();
		const dti = { ...numeric, riskDirection: 'increasing' } as const;
		expect(standingOf(dti, even, 87)).toEqual({ side: 'higher', percent: 85 });
	});

	it('should compare on the side with the larger share when no direction is declared', () => {
		expect(standingOf(numeric, even, 87)).toEqual({ side: 'higher', percent: 85 });
		expect(standingOf(numeric, even, 12)).toEqual({ side: 'lower', percent: 85 });
	});

	it('should name no standing for a missing value, a share under 5 % or a categorical feature', () => {
		expect(standingOf(numeric, even, null)).toBeNull();
		expect(
			standingOf({ ...numeric, integer: true }, { ...counts, edges: [0, 2], proportions: [1] }, 1)
		).toBeNull();
		const ref = { kind: 'categorical', frequencies: { a: 1 }, missingRate: 0 } as const;
		expect(standingOf({ ...numeric, type: 'categorical', categories: ['a'] }, ref, 'a')).toBeNull();
	});

	it('should call an ordinal worse only when its order means risk', () => {
		const ref = { kind: 'categorical', frequencies: { A: 0.3, B: 0.4, C: 0.3 }, missingRate: 0 } as const;
		const grade = {
			type: 'ordinal',
			integer: false,
			categories: ['A', 'B', 'C'],
			riskDirection: 'increasing'
		} as const;
		expect(standingOf(grade, ref, 'C')).toEqual({ side: 'worse', percent: 70 });
		expect(standingOf({ ...grade, riskDirection: 'decreasing' }, ref, 'A')).toEqual({
			side: 'worse',
			percent: 70
		});
		expect(standingOf(grade, ref, 'A')).toBeNull();
		expect(standingOf({ ...grade, riskDirection: null }, ref, 'C')).toBeNull();
	});
});
