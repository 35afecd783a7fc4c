import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { aucWithInterval, brierScore, ksStatistic, normaliseGroups, type ScoreGroup } from './roc';
import { expectedAuc } from './estimate';
import { decileCalibration } from './calibration';

/** One group per loan (ties merged by `normaliseGroups`). */
function groupsOf(loans: { p: number; bad: boolean }[]): ScoreGroup[] {
	return normaliseGroups(loans.map(({ p, bad }) => ({ score: p, count: 1, bad: bad ? 1 : 0 })));
}

/** Pairwise Mann–Whitney count, O(n²), written apart from the grouped code. */
function pairwiseAuc(loans: { p: number; bad: boolean }[]): number {
	let wins = 0;
	let pairs = 0;
	for (const a of loans)
		for (const b of loans) {
			if (!a.bad || b.bad) continue;
			pairs++;
			wins += a.p > b.p ? 1 : a.p === b.p ? 0.5 : 0;
		}
	return wins / pairs;
}

/** DeLong's variance from per-loan placements, computed naively. */
function naiveDelongSe(loans: { p: number; bad: boolean }[]): number {
	const bads = loans.filter((l) => l.bad);
	const goods = loans.filter((l) => !l.bad);
	const psi = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
	const v10 = bads.map((b) => goods.reduce((s, g) => s + psi(b.p, g.p), 0) / goods.length);
	const v01 = goods.map((g) => bads.reduce((s, b) => s + psi(b.p, g.p), 0) / bads.length);
	const auc = v10.reduce((a, b) => a + b, 0) / bads.length;
	const variance = (xs: number[]) => xs.reduce((s, x) => s + (x - auc) ** 2, 0) / (xs.length - 1);
	return Math.sqrt(variance(v10) / bads.length + variance(v01) / goods.length);
}

const loans = fc.array(
	fc.record({ p: fc.integer({ min: 0, max: 20 }).map((k) => k / 20), bad: fc.boolean() }),
	{ minLength: 4, maxLength: 60 }
);
const mixed = loans.filter(
	(ls) => ls.filter((l) => l.bad).length >= 2 && ls.filter((l) => !l.bad).length >= 2
);

describe('AUC with a DeLong interval', () => {
	it('should give the hand-worked AUC of a small set with a tie', () => {
		// Bads 0.9, 0.5; goods 0.5, 0.1: pairs (0.9>0.5), (0.9>0.1), (0.5=0.5: half), (0.5>0.1) → 3.5/4.
		const groups = groupsOf([
			{ p: 0.9, bad: true },
			{ p: 0.5, bad: true },
			{ p: 0.5, bad: false },
			{ p: 0.1, bad: false }
		]);
		expect(aucWithInterval(groups)?.value).toBe(0.875);
		// Placements of the bads 1 and 0.75, of the goods 0.75 and 1 → S10 = S01 = 1/32, var = 1/32.
		expect(aucWithInterval(groups)?.standardError).toBeCloseTo(Math.sqrt(1 / 32), 12);
	});

	it('should equal the pairwise count, ties half, on any set', () => {
		fc.assert(
			fc.property(mixed, (ls) => {
				expect(aucWithInterval(groupsOf(ls))?.value).toBeCloseTo(pairwiseAuc(ls), 12);
			})
		);
	});

	it('should give the standard error of the per-loan DeLong formula', () => {
		fc.assert(
			fc.property(mixed, (ls) => {
				const interval = aucWithInterval(groupsOf(ls));
				expect(interval?.standardError).toBeCloseTo(naiveDelongSe(ls), 12);
				expect(interval!.lower!).toBeLessThanOrEqual(interval!.value);
				expect(interval!.upper!).toBeGreaterThanOrEqual(interval!.value);
				expect(interval!.lower!).toBeGreaterThanOrEqual(0);
				expect(interval!.upper!).toBeLessThanOrEqual(1);
			})
		);
	});

	it('should have no AUC without both classes and no interval with fewer than two of one', () => {
		expect(aucWithInterval(groupsOf([{ p: 0.2, bad: false }]))).toBeNull();
		const one = aucWithInterval(
			groupsOf([
				{ p: 0.9, bad: true },
				{ p: 0.1, bad: false },
				{ p: 0.2, bad: false }
			])
		);
		expect(one).toEqual({ value: 1, standardError: null, lower: null, upper: null });
	});
});

describe('KS and Brier', () => {
	it('should find the largest TPR − FPR gap over every cut-off', () => {
		fc.assert(
			fc.property(mixed, (ls) => {
				const bads = ls.filter((l) => l.bad).length;
				const goods = ls.length - bads;
				let best = 0;
				for (const t of new Set(ls.map((l) => l.p))) {
					const tpr = ls.filter((l) => l.bad && l.p >= t).length / bads;
					const fpr = ls.filter((l) => !l.bad && l.p >= t).length / goods;
					best = Math.max(best, tpr - fpr);
				}
				expect(ksStatistic(groupsOf(ls))).toBeCloseTo(best, 12);
			})
		);
	});

	it('should average the squared errors', () => {
		const groups = groupsOf([
			{ p: 0.2, bad: true },
			{ p: 0.2, bad: false },
			{ p: 1, bad: true }
		]);
		expect(brierScore(groups)).toBeCloseTo((0.64 + 0.04 + 0) / 3, 12);
	});
});

describe('expected AUC', () => {
	it('should equal the expected pair count, enumerated over loan pairs', () => {
		fc.assert(
			fc.property(
				fc.array(
					fc.integer({ min: 0, max: 10 }).map((k) => k / 10),
					{ minLength: 2, maxLength: 40 }
				),
				(ps) => {
					let numerator = 0;
					let denominator = 0;
					ps.forEach((pi, i) =>
						ps.forEach((pj, j) => {
							if (i === j) return;
							const w = pi * (1 - pj);
							denominator += w;
							numerator += w * (pi > pj ? 1 : pi === pj ? 0.5 : 0);
						})
					);
					const groups = normaliseGroups(ps.map((p) => ({ score: p, count: 1, bad: 0 })));
					if (denominator === 0) expect(expectedAuc(groups)).toBeNull();
					else expect(expectedAuc(groups)).toBeCloseTo(numerator / denominator, 12);
				}
			)
		);
	});

	it('should be close to the mean realised AUC when outcomes follow the probabilities', () => {
		// Seeded draws: 2,000 loans with probabilities spread as a credit book's, 200 outcome draws.
		let seed = 7;
		const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
		const ps = Array.from({ length: 2000 }, () => 0.01 + 0.3 * random() ** 3);
		const groups = normaliseGroups(ps.map((p) => ({ score: p, count: 1, bad: 0 })));
		let sum = 0;
		for (let draw = 0; draw < 200; draw++) {
			sum += aucWithInterval(groupsOf(ps.map((p) => ({ p, bad: random() < p }))))!.value;
		}
		expect(Math.abs(expectedAuc(groups)! - sum / 200)).toBeLessThan(0.01);
	});
});

describe('decile calibration', () => {
	it('should keep equal probabilities in one decile', () => {
		const groups = normaliseGroups([
			{ score: 0.1, count: 15, bad: 1 },
			{ score: 0.2, count: 5, bad: 2 }
		]);
		const deciles = decileCalibration(groups);
		expect(deciles.map((d) => [d.group, d.n, d.defaults])).toEqual([
			['4', 15, 1],
			['9', 5, 2]
		]);
	});

	it('should cut distinct probabilities into tenths', () => {
		const groups = normaliseGroups(
			Array.from({ length: 100 }, (_, i) => ({ score: i / 100, count: 1, bad: i % 2 }))
		);
		const deciles = decileCalibration(groups);
		expect(deciles).toHaveLength(10);
		expect(deciles.every((d) => d.n === 10 && d.defaults === 5)).toBe(true);
		expect(deciles[0]).toMatchObject({ minProbability: 0, maxProbability: 0.09 });
		expect(deciles[0]?.expected).toBeCloseTo(0.045, 12);
	});
});
