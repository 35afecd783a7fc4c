import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../manifest';
import { loadTinyTrees } from '../test-fixtures/fixtures';
import { createDecisionPolicy, decisionFor, MAX_REASONS, riskBand, scorePoints } from './policy';

let manifest: Manifest;
beforeAll(async () => {
	manifest = (await loadTinyTrees()).manifest;
});

const scaling = { basePoints: 600, baseOdds: 50, pdo: 20 };

describe('scorePoints', () => {
	it('should give basePoints at baseOdds and pdo more points per doubling of the odds', () => {
		expect(scorePoints(1 / 51, scaling)).toBe(600);
		expect(scorePoints(1 / 101, scaling)).toBe(620);
		expect(scorePoints(1 / 26, scaling)).toBe(580);
	});

	it('should stay finite at probabilities of 0 and 1', () => {
		expect(Number.isFinite(scorePoints(0, scaling))).toBe(true);
		expect(Number.isFinite(scorePoints(1, scaling))).toBe(true);
		expect(scorePoints(0, scaling)).toBeGreaterThan(scorePoints(1, scaling));
	});
});

describe('riskBand and decisionFor', () => {
	it('should pick the first band whose maxProbability is at or above p', () => {
		const bands = manifest.policy.bands;
		expect(riskBand(0.05, bands).name).toBe('A');
		expect(riskBand(0.0501, bands).name).toBe('B');
		expect(riskBand(0.99, bands)).toEqual({ name: 'D', label: 'High risk' });
	});

	it('should approve below approveBelow, decline at or above declineAtOrAbove, review between', () => {
		const cutoffs = { approveBelow: 0.1, declineAtOrAbove: 0.3 };
		expect(decisionFor(0.0999, cutoffs)).toBe('approve');
		expect(decisionFor(0.1, cutoffs)).toBe('review');
		expect(decisionFor(0.2999, cutoffs)).toBe('review');
		expect(decisionFor(0.3, cutoffs)).toBe('decline');
	});
});

describe('reason codes', () => {
	it('should list only risk-increasing features, strongest first, with manifest codes and the applicant in words', () => {
		const policy = createDecisionPolicy(manifest);
		const d = policy.decideApplicant(
			0.4,
			{ income: 0.2, purpose: -0.5, grade: 0.7, age: 0 },
			{ income: 20000, purpose: 'car', grade: 'C', age: 30 }
		);
		expect(d.decision).toBe('decline');
		expect(d.reasons).toEqual([
			{
				feature: 'grade',
				code: 'R03',
				// A and B, 30 % + 40 % of the reference, come before C in the risk order.
				text: 'Credit grade C is worse than for 70 % of applicants',
				standing: { side: 'worse', percent: 70 },
				contribution: 0.7,
				value: 'C'
			},
			{
				feature: 'income',
				code: 'R01',
				// The fixture's income reference is [0, 1]: no share is lower than 20,000, so none is named.
				text: 'Annual income: 20,000 USD',
				standing: null,
				contribution: 0.2,
				value: 20000
			}
		]);
	});

	it('should give reasons for approvals too, and none when nothing raised the risk', () => {
		const policy = createDecisionPolicy(manifest);
		const d = policy.decideApplicant(0.01, { income: 0.01, purpose: -1, grade: -1, age: -1 }, {});
		expect(d.decision).toBe('approve');
		expect(d.reasons.map((r) => r.feature)).toEqual(['income']);
		expect(policy.decideApplicant(0.01, { income: -1, purpose: -1, grade: -1, age: -1 }, {}).reasons).toEqual(
			[]
		);
	});

	it(`should give at most ${MAX_REASONS} reasons and one per reason code`, () => {
		const m = structuredClone(manifest);
		const extra = m.features.map((f, i) => ({
			...f,
			name: `${f.name}2`,
			reason: { code: `X${i}`, text: `extra ${i}` }
		}));
		m.features.push(...extra);
		const shared = m.features[5];
		if (shared) shared.reason = { ...(m.features[0]?.reason ?? shared.reason) };
		const policy = createDecisionPolicy(m);
		const shap = [0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.7, 0.8];
		const d = policy.decide(0.5, shap, 0, () => null);
		expect(d.reasons).toHaveLength(MAX_REASONS);
		// purpose2 (0.9) shares R01 with income (0.1): only the stronger one is listed.
		expect(d.reasons.map((r) => r.feature)).toEqual(['purpose2', 'age2', 'grade2', 'income2']);
	});

	it('should rank as a stable sort would: strongest first, ties in manifest order, NaN and ≤ 0 left out', () => {
		const m = structuredClone(manifest);
		// Eight features over three reason codes, so that codes repeat.
		m.features = Array.from({ length: 8 }, (_, i) => ({
			...(manifest.features[i % manifest.features.length] as Manifest['features'][number]),
			name: `f${i}`,
			reason: { code: `C${i % 3}`, text: `reason ${i % 3}` }
		}));
		const policy = createDecisionPolicy(m);
		const reference = (shap: number[]) => {
			const adverse = shap.flatMap((v, i) => (v > 0 ? [i] : [])).sort((a, b) => shap[b]! - shap[a]!);
			const codes = new Set<string>();
			return adverse
				.filter((i) => {
					const code = m.features[i]!.reason.code;
					return codes.has(code) ? false : (codes.add(code), true);
				})
				.slice(0, MAX_REASONS)
				.map((i) => `f${i}`);
		};
		const value = fc.oneof(
			fc.constantFrom(0, -0, 0.5, 1, Number.NaN, 5e-324),
			fc.double({ min: -2, max: 2 })
		);
		fc.assert(
			fc.property(fc.array(value, { minLength: 8, maxLength: 8 }), (shap) => {
				expect(policy.decide(0.5, shap, 0, () => null).reasons.map((r) => r.feature)).toEqual(
					reference(shap)
				);
			}),
			{ numRuns: 2000 }
		);
	});

	it('should word a missing value as not provided and a category by its label', () => {
		const d = createDecisionPolicy(manifest).decideApplicant(
			0.4,
			{ income: 0.3, purpose: 0.2, grade: 0, age: 0 },
			{ income: null, purpose: 'car', grade: 'A', age: 30 }
		);
		expect(d.reasons.map((r) => r.text)).toEqual(['Annual income was not provided', 'Loan purpose: Car']);
		expect(d.reasons.map((r) => r.value)).toEqual([null, 'car']);
	});

	it('should compute points and band along with the decision', () => {
		const d = createDecisionPolicy(manifest).decide(1 / 51, [0, 0, 0, 0], 0, () => null);
		expect(d).toMatchObject({ decision: 'approve', points: 600, band: { name: 'A' } });
	});
});
