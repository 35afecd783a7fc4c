/**
 * Counterfactual hints with the shipped bundles and the real inference pool: every suggested
 * change, applied to the applicant, must really give an approve, stay inside the feature's range,
 * and the search must run as a couple of batches, not one call per candidate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawApplicant } from '$inference/manifest';
import { CounterfactualService } from '$lib/server/services/counterfactual.service';
import { poolEngine } from '$lib/server/services/inference-engine';
import type { ScoringEngine } from '$lib/server/services/scoring';
import { startTestCore, type TestCore } from '../helpers/core';
import { goldenRows } from '../helpers/golden';

describe('counterfactual hints', () => {
	let t: TestCore;
	let calls: number[];
	let service: CounterfactualService;

	beforeAll(async () => {
		t = await startTestCore('pglite');
		const engine = poolEngine(t.core.pool);
		calls = [];
		const counting: ScoringEngine = {
			run: (version, applicants) => {
				calls.push(applicants.length);
				return engine.run(version, applicants);
			}
		};
		service = new CounterfactualService(counting);
	});
	afterAll(async () => {
		await t.dispose();
	});

	const caller = { principal: { kind: 'user', id: 'cf' }, requestId: 'cf', channel: 'portal' as const };
	const explain = (model: string, version: string, applicant: RawApplicant) =>
		t.core.scoring.explainApplicant(caller, { model, version, applicant });

	for (const bundle of [
		'lending-club/xgb-1.0.0',
		'lending-club/scorecard-1.0.0',
		'consumer-credit/xgb-1.0.0'
	]) {
		it(`should suggest only changes that really approve, within range (${bundle})`, async () => {
			const [model = '', versionName = ''] = bundle.split('/');
			const version = t.core.models.resolve(model, versionName);
			const { approveBelow } = version.manifest.policy.cutoffs;
			// The six refused applicants closest to the cut-off: a single change can approve some of them.
			const notApproved = goldenRows(bundle)
				.filter((row) => row.probability >= approveBelow)
				.sort((a, b) => a.probability - b.probability)
				.slice(0, 6);
			expect(notApproved.length).toBeGreaterThan(0);
			let found = 0;
			for (const row of notApproved) {
				const applicant = row.raw as RawApplicant;
				calls.length = 0;
				const hint = await service.suggest(version, applicant, row.probability);
				expect(hint.searched).toBe(true);
				// One batch for the grid, one for the refinement: never one call per candidate.
				expect(calls.length).toBeLessThanOrEqual(2);
				expect(calls[0]).toBeGreaterThan(10);
				expect(hint.changes.map((c) => c.distance)).toEqual(
					[...hint.changes.map((c) => c.distance)].sort((a, b) => a - b)
				);
				expect(hint.best).toEqual(hint.changes[0] ?? null);
				for (const change of hint.changes) {
					const feature = version.manifest.features.find((f) => f.name === change.feature);
					expect(feature?.actionable).toBe(true);
					const value = feature?.type === 'numeric' ? Number(change.toValue) : change.toValue;
					if (feature?.type === 'numeric' && feature.range) {
						expect(value).toBeGreaterThanOrEqual(feature.range.min);
						expect(value).toBeLessThanOrEqual(feature.range.max);
						if (feature.integer) expect(Number.isInteger(value)).toBe(true);
					}
					const changed = await explain(model, versionName, { ...applicant, [change.feature]: value });
					expect(changed.probability).toBeCloseTo(change.probability, 6);
					expect(changed.decision).toBe('approve');
					found += 1;
				}
			}
			if (bundle !== 'consumer-credit/xgb-1.0.0') expect(found).toBeGreaterThan(0);
		});
	}

	it('should not search for an applicant who is already approved', async () => {
		const version = t.core.models.resolve('lending-club');
		const approved = goldenRows('lending-club/xgb-1.0.0').find((row) => row.probability < 0.03);
		calls.length = 0;
		const hint = await service.suggest(version, approved?.raw ?? {}, approved?.probability ?? 0);
		expect(hint).toMatchObject({ searched: false, best: null, changes: [] });
		expect(calls).toEqual([]);
	});

	it('should say so when no single change can approve', async () => {
		const version = t.core.models.resolve('lending-club');
		const worst = [...goldenRows('lending-club/xgb-1.0.0')].sort((a, b) => b.probability - a.probability)[0];
		const hint = await service.suggest(version, worst?.raw ?? {}, worst?.probability ?? 1);
		expect(hint.searched).toBe(true);
		// Whatever the answer, it is consistent: a best change exactly when some change flips.
		expect(hint.best === null).toBe(hint.changes.length === 0);
		expect(hint.tried).toEqual(version.manifest.features.filter((f) => f.actionable).map((f) => f.label));
	});
});
