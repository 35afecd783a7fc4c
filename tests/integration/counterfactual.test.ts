/**
 * Counterfactual hints with the shipped bundles, the real inference pool and real applicants from
 * the training data (models/data/*.csv): every suggestion keeps to the manifest's rules (direction,
 * offered values, range, whole numbers), moves at most three features, lands at or below the stated
 * target probability, and its verified probability is what a fresh score of the changed applicant
 * says. The search runs as one batch per round, not one call per candidate.
 */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Feature, RawApplicant } from '$inference/manifest';
import type { CounterfactualView } from '$lib/scoring/types';
import { CounterfactualService, MARGIN, MAX_FEATURES } from '$lib/server/services/counterfactual.service';
import { poolEngine } from '$lib/server/services/inference-engine';
import type { ModelVersion } from '$lib/server/services/models.service';
import type { ScoringEngine } from '$lib/server/services/scoring';
import { startTestCore, type TestCore } from '../helpers/core';

const DATA: Record<string, string> = {
	'lending-club': 'models/data/lending_club.csv',
	'consumer-credit': 'models/data/credit_data.csv'
};

/** Rows of a training CSV as raw applicants of a version: its features only, `NA` as unknown. */
function dataRows(model: string, version: ModelVersion): RawApplicant[] {
	const parsed = Papa.parse<Record<string, string>>(readFileSync(DATA[model] ?? '', 'utf8'), {
		header: true,
		skipEmptyLines: true
	});
	return parsed.data.map((row) =>
		Object.fromEntries(
			version.manifest.features.map((f) => {
				const cell = row[f.name];
				if (cell === undefined || cell === 'NA' || cell === '') return [f.name, null];
				return [f.name, f.type === 'numeric' ? Number(cell) : cell];
			})
		)
	);
}

/** Whether moving `f` from `from` to `to` keeps to the feature's declared rule. */
function keepsRule(f: Feature, from: number | string | null, to: number | string): boolean {
	const rule = f.change;
	if (!rule) return false;
	if (rule.values && !rule.values.includes(to)) return false;
	if (f.type === 'numeric') {
		if (typeof to !== 'number' || !f.range) return false;
		if (to < f.range.min || to > f.range.max) return false;
		if (f.integer && !Number.isInteger(to)) return false;
		if (typeof from !== 'number' || rule.direction === 'either') return to !== from;
		return rule.direction === 'increase' ? to > from : to < from;
	}
	if (!f.categories?.includes(String(to)) || to === from) return false;
	if (f.type === 'ordinal' && typeof from === 'string' && rule.direction !== 'either') {
		const delta = f.categories.indexOf(String(to)) - f.categories.indexOf(from);
		return rule.direction === 'increase' ? delta > 0 : delta < 0;
	}
	return true;
}

describe('counterfactual hints', () => {
	let t: TestCore;
	let engine: ScoringEngine;
	let calls: number[];
	let service: CounterfactualService;

	beforeAll(async () => {
		t = await startTestCore('pglite');
		engine = poolEngine(t.core.pool);
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

	/** Real applicants the version does not approve, spread from borderline to worst, with their probability. */
	async function notApproved(model: string, version: ModelVersion, count: number) {
		const rows = dataRows(model, version).slice(0, 600);
		const scored = await engine.run(version, rows);
		const { approveBelow } = version.manifest.policy.cutoffs;
		const candidates = rows
			.map((applicant, i) => ({ applicant, probability: scored[i]?.probability ?? 0 }))
			.filter((r) => r.probability >= approveBelow)
			.sort((a, b) => a.probability - b.probability);
		// The refused applicants closest to the cut-off: the monotone scorecard holds several
		// actionable coefficients at zero, so applicants far above it often have no acceptable change.
		return candidates.slice(0, count);
	}

	async function expectValid(
		model: string,
		version: ModelVersion,
		applicant: RawApplicant,
		hint: CounterfactualView
	) {
		const { approveBelow } = version.manifest.policy.cutoffs;
		expect(hint.searched).toBe(true);
		expect(hint.margin).toBe(MARGIN);
		expect(hint.targetProbability).toBeCloseTo(approveBelow * (1 - MARGIN), 12);
		expect(hint.targetProbability).toBeLessThan(approveBelow);
		expect(hint.tried).toEqual(
			version.manifest.features.filter((f) => f.change !== null).map((f) => f.label)
		);
		if (!hint.found) {
			expect(hint.changes).toEqual([]);
			expect(hint.probability).toBeNull();
			expect(hint.reason).toMatch(/No change of up to 3/);
			for (const label of hint.tried) expect(hint.reason).toContain(label);
			return;
		}
		expect(hint.reason).toBeNull();
		expect(hint.changes.length).toBeGreaterThanOrEqual(1);
		expect(hint.changes.length).toBeLessThanOrEqual(MAX_FEATURES);
		expect(new Set(hint.changes.map((c) => c.feature)).size).toBe(hint.changes.length);
		const changed: RawApplicant = { ...applicant };
		for (const change of hint.changes) {
			const feature = version.manifest.features.find((f) => f.name === change.feature);
			expect(feature, change.feature).toBeDefined();
			if (!feature) continue;
			const value = feature.type === 'numeric' ? Number(change.toValue) : change.toValue;
			expect(keepsRule(feature, applicant[feature.name] ?? null, value), `${change.feature} → ${value}`).toBe(
				true
			);
			changed[feature.name] = value;
		}
		expect(hint.distance).toBeCloseTo(
			hint.changes.reduce((sum, c) => sum + c.distance, 0),
			9
		);
		expect(hint.probability).not.toBeNull();
		expect(hint.probability ?? 1).toBeLessThanOrEqual(hint.targetProbability);
		const { result: fresh } = await t.core.scoring.explainApplicant(caller, {
			model,
			version: version.manifest.model.version,
			applicant: changed
		});
		expect(fresh.probability).toBeCloseTo(hint.probability ?? 1, 9);
		expect(fresh.decision).toBe(hint.decision);
		expect(fresh.decision).toBe('approve');
	}

	for (const bundle of [
		'lending-club/xgb-1.0.0',
		'lending-club/scorecard-1.0.0',
		'consumer-credit/xgb-1.0.0'
	]) {
		it(`should suggest only changes within the rules that really approve with a margin (${bundle})`, async () => {
			const [model = '', versionName = ''] = bundle.split('/');
			const version = t.core.models.resolve(model, versionName);
			const rows = await notApproved(model, version, 6);
			expect(rows.length).toBeGreaterThan(0);
			let found = 0;
			for (const { applicant, probability } of rows) {
				calls.length = 0;
				const hint = await service.suggest(version, applicant, probability);
				// One batch per round (at most three), one refinement, one re-score: never one call per candidate.
				expect(calls.length).toBeLessThanOrEqual(MAX_FEATURES + 2);
				expect(calls[0]).toBeGreaterThan(10);
				if (hint.found) expect(calls.at(-1)).toBe(1);
				await expectValid(model, version, applicant, hint);
				if (hint.found) found += 1;
			}
			expect(found).toBeGreaterThan(0);
		}, 60_000);
	}

	it('should not search for an applicant who is already approved', async () => {
		const version = t.core.models.resolve('lending-club');
		const rows = dataRows('lending-club', version).slice(0, 200);
		const scored = await engine.run(version, rows);
		const at = scored.findIndex((r) => r.probability < version.manifest.policy.cutoffs.approveBelow);
		expect(at).toBeGreaterThanOrEqual(0);
		calls.length = 0;
		const hint = await service.suggest(version, rows[at] ?? {}, scored[at]?.probability ?? 0);
		expect(hint).toMatchObject({ searched: false, found: false, changes: [], probability: null });
		expect(hint.reason).toMatch(/no change is needed/);
		expect(calls).toEqual([]);
	});

	it('should say plainly that nothing is possible when every feature is already at the end its rule allows', async () => {
		const shipped = t.core.models.resolve('lending-club');
		// The same bundle with only one-way features movable (no term switch), each already at its bound.
		const features = shipped.manifest.features.map((f) =>
			f.change?.direction === 'either' ? { ...f, actionable: false, change: null } : f
		);
		const version: ModelVersion = { ...shipped, manifest: { ...shipped.manifest, features } };
		const [row] = await notApproved('lending-club', shipped, 1);
		const applicant: RawApplicant = { ...row?.applicant };
		for (const f of features) {
			if (!f.change || !f.range) continue;
			applicant[f.name] = f.change.direction === 'increase' ? f.range.max : f.range.min;
		}
		calls.length = 0;
		const hint = await service.suggest(version, applicant, 1);
		expect(hint).toMatchObject({
			searched: true,
			found: false,
			changes: [],
			probability: null,
			decision: null
		});
		const movable = features.filter((f) => f.change !== null).map((f) => f.label);
		expect(hint.tried).toEqual(movable);
		for (const label of movable) expect(hint.reason).toContain(label);
		expect(calls).toEqual([]);
	});

	it('should answer the worst real applicant consistently: a valid suggestion or a plain no', async () => {
		const version = t.core.models.resolve('consumer-credit');
		const [worst] = (await notApproved('consumer-credit', version, 400)).slice(-1);
		expect(worst).toBeDefined();
		const applicant = worst?.applicant ?? {};
		const hint = await service.suggest(version, applicant, worst?.probability ?? 1);
		await expectValid('consumer-credit', version, applicant, hint);
	}, 60_000);
});
