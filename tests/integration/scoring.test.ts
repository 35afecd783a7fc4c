import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { predictions } from '$lib/server/db/schema';
import { ServiceUnavailable } from '$lib/server/errors';
import { poolEngine } from '$lib/server/services/inference-engine';
import { ScoringService, type ScoringEngine } from '$lib/server/services/scoring';
import { storedShap } from '$lib/server/services/stored-shap';
import { countPredictions } from '$lib/server/services/prediction-writer';
import { createCaller } from '$lib/server/trpc/root';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';

const golden = goldenRows('lending-club/xgb-1.0.0');
const applicant = golden[0]?.raw ?? {};

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
	try {
		await promise;
	} catch (error) {
		if (error instanceof TRPCError) return error;
		throw error;
	}
	throw new Error('expected the call to fail');
}

describe.each(testDatabaseKinds())('scoring on %s', (kind) => {
	let t: TestCore;

	beforeAll(async () => {
		t = await startTestCore(kind);
	});
	afterAll(async () => {
		await t.dispose();
	});

	it('should reproduce the training library probability and record the decision with its reasons', async () => {
		const before = await countPredictions(t.core.db);
		const result = await createCaller(t.context('scorer')).scoring.score({
			model: 'lending-club',
			applicant
		});
		expect(result.model).toEqual({ id: 'lending-club', version: 'xgb-1.0.0' });
		expect(result.probability).toBeCloseTo(golden[0]?.probability ?? -1, 6);
		expect(['approve', 'review', 'decline']).toContain(result.decision);
		expect(result.reasons.length).toBeGreaterThan(0);
		expect(result.reasons.length).toBeLessThanOrEqual(4);
		expect(result.explanation).toBeUndefined();
		const [stored] = await t.core.db
			.select()
			.from(predictions)
			.where(eq(predictions.id, result.predictionId));
		expect(stored).toMatchObject({
			decision: result.decision,
			points: result.points,
			requester: 'service:scorer'
		});
		expect(stored?.input).toEqual(applicant);
		expect(await countPredictions(t.core.db)).toBe(before + 1);
	});

	it('should return SHAP contributions that add up to the margin when asked', async () => {
		const result = await createCaller(t.context('risk_manager')).scoring.score({
			model: 'lending-club',
			applicant,
			explain: true
		});
		const explanation = result.explanation;
		expect(explanation).toBeDefined();
		const sum = explanation?.contributions.reduce((total, c) => total + c.shap, explanation.baseValue) ?? 0;
		expect(sum).toBeCloseTo(explanation?.margin ?? 0, 5);
		expect(explanation?.contributions.find((c) => c.feature === 'int_rate')?.shap).toBeCloseTo(
			golden[0]?.shap.int_rate ?? 0,
			5
		);
	});

	it('should score the challenger when its version is named', async () => {
		const result = await createCaller(t.context('scorer')).scoring.score({
			model: 'lending-club',
			version: 'scorecard-1.0.0',
			applicant
		});
		expect(result.model.version).toBe('scorecard-1.0.0');
		const challengerGolden = goldenRows('lending-club/scorecard-1.0.0')[0];
		if (challengerGolden && JSON.stringify(challengerGolden.raw) === JSON.stringify(applicant)) {
			expect(result.probability).toBeCloseTo(challengerGolden.probability, 6);
		}
	});

	it('should name every bad field and record nothing', async () => {
		const before = await countPredictions(t.core.db);
		const error = await rejection(
			createCaller(t.context('scorer')).scoring.score({
				model: 'lending-club',
				applicant: { ...applicant, annual_inc: -5, term: 'term_99', unknown_field: 1 }
			})
		);
		expect(error.code).toBe('BAD_REQUEST');
		const fields = (error.cause as unknown as { fieldErrors: Record<string, string[]> }).fieldErrors;
		expect(Object.keys(fields).sort()).toEqual(
			expect.arrayContaining(['applicant.annual_inc', 'applicant.term'])
		);
		expect(JSON.stringify(fields)).toContain('unknown_field');
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should answer NOT_FOUND for an unknown model or version', async () => {
		const caller = createCaller(t.context('scorer'));
		expect((await rejection(caller.scoring.score({ model: 'mortgages', applicant }))).code).toBe('NOT_FOUND');
		expect(
			(await rejection(caller.scoring.score({ model: 'lending-club', version: '9', applicant }))).code
		).toBe('NOT_FOUND');
	});

	it('should return the stored result for a repeated idempotency key instead of scoring twice', async () => {
		const caller = createCaller(t.context('scorer', 'svc-idem'));
		const before = await countPredictions(t.core.db);
		const first = await caller.scoring.score({ model: 'lending-club', applicant, requestId: 'loan-42' });
		const again = await caller.scoring.score({ model: 'lending-club', applicant, requestId: 'loan-42' });
		expect(again.predictionId).toBe(first.predictionId);
		expect(again.replayed).toBe(true);
		expect(await countPredictions(t.core.db)).toBe(before + 1);
		const conflict = await rejection(
			caller.scoring.score({
				model: 'lending-club',
				applicant: { ...applicant, annual_inc: 1 },
				requestId: 'loan-42'
			})
		);
		expect(conflict.code).toBe('BAD_REQUEST');
	});

	it('should record exactly one prediction when the same key races', async () => {
		const caller = createCaller(t.context('scorer', 'svc-race'));
		const results = await Promise.all(
			Array.from({ length: 8 }, () =>
				caller.scoring.score({ model: 'lending-club', applicant, requestId: 'race-1' })
			)
		);
		expect(new Set(results.map((r) => r.predictionId)).size).toBe(1);
		const stored = await t.core.db
			.select()
			.from(predictions)
			.where(eq(predictions.requester, 'service:svc-race'));
		expect(stored).toHaveLength(1);
	});

	it('should score a batch where bad rows get their own errors and good rows their results', async () => {
		const rows = golden.slice(0, 50).map((g) => g.raw as Record<string, unknown>);
		rows[3] = { ...rows[3], revol_util: 'high' };
		rows[7] = { ...rows[7], term: undefined };
		const before = await countPredictions(t.core.db);
		const batch = await createCaller(t.context('scorer')).scoring.scoreBatch({
			model: 'lending-club',
			applicants: rows
		});
		expect(batch.summary).toMatchObject({ rows: 50, scored: 48, rejected: 2 });
		expect(batch.results[3]).toMatchObject({ index: 3, ok: false });
		expect(Object.keys((batch.results[3] as { fieldErrors: object }).fieldErrors)).toEqual(['revol_util']);
		expect(batch.results[7]).toMatchObject({ index: 7, ok: false });
		golden.slice(0, 50).forEach((g, i) => {
			const row = batch.results[i];
			if (row?.ok) expect(row.probability).toBeCloseTo(g.probability, 6);
		});
		expect(await countPredictions(t.core.db)).toBe(before + 48);
		const stored = await t.core.db.select().from(predictions).where(eq(predictions.batchId, batch.batchId));
		expect(stored).toHaveLength(48);
	});

	it('should score a batch of several chunks in order, a row that is not an object getting its own error', async () => {
		const rows: unknown[] = Array.from({ length: 600 }, (_, i) => golden[i % golden.length]?.raw);
		rows[260] = 'not an applicant';
		rows[599] = null;
		const batch = await createCaller(t.context('scorer')).scoring.scoreBatch({
			model: 'lending-club',
			applicants: rows,
			explain: true
		});
		expect(batch.summary).toMatchObject({ rows: 600, scored: 598, rejected: 2 });
		expect(batch.results.map((row) => row.index)).toEqual(rows.map((_, i) => i));
		expect(batch.results[260]).toMatchObject({ index: 260, ok: false });
		expect(Object.keys((batch.results[260] as { fieldErrors: object }).fieldErrors)).not.toHaveLength(0);
		expect(batch.results[599]).toMatchObject({ ok: false });
		const stored = await t.core.db.select().from(predictions).where(eq(predictions.batchId, batch.batchId));
		expect(stored).toHaveLength(598);
		// What was recorded is what was answered, SHAP to the bit.
		const byId = new Map(stored.map((p) => [p.id, p]));
		for (const row of batch.results) {
			if (!row.ok) continue;
			const reference = golden[row.index % golden.length];
			expect(row.probability).toBeCloseTo(reference?.probability ?? NaN, 6);
			const recorded = byId.get(row.predictionId);
			expect(recorded?.probability).toBe(row.probability);
			const shap = recorded ? storedShap(recorded) : null;
			for (const c of row.explanation?.contributions ?? []) expect(shap?.[c.feature]).toBe(c.shap);
		}
	});

	describe('a batch that finds the inference queue full', () => {
		/** The real engine, refusing chunk k (in order of first sight) as a full queue would, `refusals[k]` times. */
		function refusing(refusals: Record<number, number>) {
			const engine = poolEngine(t.core.pool);
			const chunks = new Map<string, number>();
			const calls: number[] = [];
			const fake: ScoringEngine = {
				run(version, applicants) {
					const key = JSON.stringify(applicants[0]);
					const chunk = chunks.get(key) ?? chunks.size;
					chunks.set(key, chunk);
					calls.push(chunk);
					const refusedSoFar = calls.filter((c) => c === chunk).length - 1;
					if (refusedSoFar < (refusals[chunk] ?? 0)) {
						const full = Object.assign(new Error('queue full'), { code: 'OVERLOADED', retryAfterSeconds: 2 });
						return Promise.reject(full);
					}
					return engine.run(version, applicants);
				}
			};
			return { scoring: new ScoringService(t.core.db, t.core.models, fake, t.core.writer), calls };
		}
		const rows = () => Array.from({ length: 1000 }, (_, i) => golden[i % golden.length]?.raw);
		const caller = {
			principal: { kind: 'service', id: 'svc-queue' },
			requestId: 'r',
			channel: 'batch'
		} as const;

		it('should not be refused halfway: a later chunk waits for the one before and asks again', async () => {
			const { scoring, calls } = refusing({ 2: 1 });
			const batch = await scoring.scoreBatch(caller, { model: 'lending-club', applicants: rows() });
			expect(batch.summary).toMatchObject({ rows: 1000, scored: 1000 });
			expect([...calls].sort()).toEqual([0, 1, 2, 2, 3]);
			const stored = await t.core.db.select().from(predictions).where(eq(predictions.batchId, batch.batchId));
			expect(stored).toHaveLength(1000);
		});

		it('should answer 503 with nothing recorded when its first chunk is refused', async () => {
			const { scoring, calls } = refusing({ 0: 1 });
			const before = await countPredictions(t.core.db);
			const error = await scoring
				.scoreBatch(caller, { model: 'lending-club', applicants: rows() })
				.catch((e: unknown) => e);
			expect(error).toBeInstanceOf(ServiceUnavailable);
			expect((error as ServiceUnavailable).retryAfterSeconds).toBe(2);
			expect(calls).toEqual([0]);
			expect(await countPredictions(t.core.db)).toBe(before);
		});

		it('should answer 503 and send no further chunk when a chunk is refused twice', async () => {
			const { scoring, calls } = refusing({ 1: 2 });
			const error = await scoring
				.scoreBatch(caller, { model: 'lending-club', applicants: rows() })
				.catch((e: unknown) => e);
			expect(error).toBeInstanceOf(ServiceUnavailable);
			// Chunk 1 asked twice; chunks 2 and 3 may have been sent while it waited, none after it failed.
			expect(calls.filter((c) => c === 1)).toHaveLength(2);
			expect(calls.length).toBeLessThanOrEqual(5);
		});
	});

	it('should replay a batch with the same idempotency key', async () => {
		const caller = createCaller(t.context('scorer', 'svc-batch'));
		const applicants = golden.slice(0, 5).map((g) => g.raw as Record<string, unknown>);
		const first = await caller.scoring.scoreBatch({ model: 'lending-club', applicants, requestId: 'file-7' });
		const again = await caller.scoring.scoreBatch({ model: 'lending-club', applicants, requestId: 'file-7' });
		expect(again.batchId).toBe(first.batchId);
		expect(again.results.map((r) => (r.ok ? r.predictionId : null))).toEqual(
			first.results.map((r) => (r.ok ? r.predictionId : null))
		);
	});

	it('should complete a batch retry whose first call recorded only some rows', async () => {
		const caller = createCaller(t.context('scorer', 'svc-retry'));
		const applicants = golden.slice(0, 5).map((g) => g.raw as Record<string, unknown>);
		// As if the first call had been cut off after recording rows 0–2 of the five.
		const partial = await caller.scoring.scoreBatch({
			model: 'lending-club',
			applicants: applicants.slice(0, 3),
			requestId: 'file-8'
		});
		const before = await countPredictions(t.core.db);
		const retry = await caller.scoring.scoreBatch({ model: 'lending-club', applicants, requestId: 'file-8' });
		expect(retry.summary.scored).toBe(5);
		expect(retry.batchId).toBe(partial.batchId);
		expect(retry.results.slice(0, 3).map((r) => (r.ok ? [r.predictionId, r.replayed] : null))).toEqual(
			partial.results.map((r) => (r.ok ? [r.predictionId, true] : null))
		);
		expect(retry.results.slice(3).every((r) => r.ok && !r.replayed)).toBe(true);
		expect(await countPredictions(t.core.db)).toBe(before + 2);

		const changed = applicants.map((a, i) => (i === 1 ? { ...a, annual_inc: 123_456 } : a));
		const reused = await rejection(
			caller.scoring.scoreBatch({ model: 'lending-club', applicants: changed, requestId: 'file-8' })
		);
		expect(reused.code).toBe('BAD_REQUEST');
		expect(await countPredictions(t.core.db)).toBe(before + 2);
	});

	it('should explain a stored prediction to a risk manager but hide another service’s from a scorer', async () => {
		const mine = await createCaller(t.context('scorer', 'svc-a')).scoring.score({
			model: 'lending-club',
			applicant
		});
		const explained = await createCaller(t.context('risk_manager')).scoring.explain({
			predictionId: mine.predictionId
		});
		expect(explained.explanation?.contributions).toHaveLength(applicant ? Object.keys(applicant).length : 0);
		expect(explained.decision).toBe(mine.decision);
		const other = await rejection(
			createCaller(t.context('scorer', 'svc-b')).scoring.explain({ predictionId: mine.predictionId })
		);
		expect(other.code).toBe('NOT_FOUND');
	});

	it('should explain a new applicant without recording it', async () => {
		const before = await countPredictions(t.core.db);
		const explained = await createCaller(t.context('risk_manager')).scoring.explain({
			model: 'lending-club',
			applicant
		});
		expect(explained.predictionId).toBeNull();
		expect(explained.probability).toBeCloseTo(golden[0]?.probability ?? -1, 6);
		expect(explained.explanation?.contributions.length).toBe(Object.keys(applicant).length);
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should answer the counterfactual with the explanation, re-scored and inside the approve zone', async () => {
		const { approveBelow } = t.core.models.resolve('lending-club').manifest.policy.cutoffs;
		// The not-approved applicants nearest the cut-off: the ones a small change can help.
		const rows = goldenRows('lending-club/xgb-1.0.0')
			.filter((g) => g.probability >= approveBelow)
			.sort((a, b) => a.probability - b.probability);
		expect(rows.length).toBeGreaterThan(0);
		const explain = createCaller(t.context('risk_manager')).scoring.explain;
		let found = 0;
		for (const row of rows.slice(0, 5)) {
			const { counterfactual } = await explain({ model: 'lending-club', applicant: row.raw });
			expect(counterfactual.searched).toBe(true);
			expect(counterfactual.targetProbability).toBeLessThan(approveBelow);
			if (!counterfactual.found) {
				expect(counterfactual.reason).toMatch(/No change of up to 3/);
				continue;
			}
			found += 1;
			const changed = { ...row.raw };
			for (const c of counterfactual.changes) {
				changed[c.feature] = typeof row.raw[c.feature] === 'string' ? c.toValue : Number(c.toValue);
			}
			const again = await explain({ model: 'lending-club', applicant: changed });
			expect(again.probability).toBeCloseTo(counterfactual.probability ?? -1, 9);
			expect(again.probability).toBeLessThanOrEqual(counterfactual.targetProbability);
			expect(again.decision).toBe(counterfactual.decision);
		}
		expect(found).toBeGreaterThan(0);
	});

	it('should score the consumer-credit model with missing values', async () => {
		const rows = goldenRows('consumer-credit/xgb-1.0.0');
		const withMissing = rows.find((g) => Object.values(g.raw).some((v) => v === null));
		expect(withMissing).toBeDefined();
		const result = await createCaller(t.context('scorer')).scoring.score({
			model: 'consumer-credit',
			applicant: withMissing?.raw ?? {}
		});
		expect(result.probability).toBeCloseTo(withMissing?.probability ?? -1, 6);
	});

	it('should list models and describe one with its features and policy', async () => {
		const caller = createCaller(t.context('viewer'));
		const list = await caller.models.list();
		expect(list.map((m) => m.id)).toEqual(['consumer-credit', 'lending-club']);
		expect(list.find((m) => m.id === 'lending-club')?.champion).toBe('xgb-1.0.0');
		const info = await caller.models.info({ model: 'lending-club' });
		expect(info.features.find((f) => f.name === 'term')?.categories).toEqual(['term_36', 'term_60']);
		expect(info.policy.scaling).toEqual({ basePoints: 600, baseOdds: 50, pdo: 20 });
	});
});
