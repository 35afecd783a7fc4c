/**
 * Drift on a real database: golden applicants scored through the service are counted in
 * `drift_counts` exactly as a recount of `predictions` finds them; a batch with halved incomes is
 * flagged on annual_inc and on no unshifted categorical feature, against the reference and against
 * the window before; bad windows are field-level 400s, unknown models 404s, and only risk managers
 * and administrators may read drift.
 */
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rowsOf } from '$lib/server/db';
import {
	driftCounts,
	OTHER_BIN,
	predictions,
	SCORE_FEATURE,
	type NewPrediction
} from '$lib/server/db/schema';
import { referenceBins } from '$lib/server/monitoring/drift/bins';
import { recountStatement } from '$lib/server/monitoring/drift/recount';
import type { DriftView } from '$lib/server/services/drift.service';
import { createCaller } from '$lib/server/trpc/root';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { apiClient, serviceToken } from '../helpers/api';

const golden = goldenRows('lending-club/xgb-1.0.0');
const model = 'lending-club';
const version = 'xgb-1.0.0';
/** Two whole hours, far from now: the unshifted batch in the first, the shifted one in the second. */
const first = '2026-03-02T10:00:00.000Z';
const second = '2026-03-02T11:00:00.000Z';
const end = '2026-03-02T12:00:00.000Z';
/** Rows written straight through the writer, concurrently and with repeated idempotency keys. */
const concurrent = '2026-03-02T15:30:00.000Z';
const categorical = ['term', 'sub_grade', 'verification_status', 'emp_length'];

describe.each(testDatabaseKinds())('drift on %s', (kind) => {
	let t: TestCore;

	/** Scores applicants through the service with the clock at `at`, so that they land in that hour. */
	async function scoreAt(at: string, applicants: Record<string, unknown>[]): Promise<void> {
		vi.useFakeTimers({ toFake: ['Date'], now: new Date(at).getTime() + 5 * 60_000 });
		try {
			const batch = await createCaller(t.context('scorer')).scoring.scoreBatch({ model, applicants });
			expect(batch.summary.scored).toBe(applicants.length);
		} finally {
			vi.useRealTimers();
		}
	}

	const drift = (input: Record<string, unknown>, role: 'risk_manager' | 'admin' = 'risk_manager') =>
		createCaller(t.context(role)).drift.get({ model, ...input });
	const feature = (view: DriftView, name: string) => {
		const found = view.features.find((f) => f.feature === name);
		if (!found) throw new Error(`no ${name}`);
		return found;
	};

	beforeAll(async () => {
		t = await startTestCore(kind);
		await scoreAt(
			first,
			golden.map((g) => g.raw)
		);
		await scoreAt(
			second,
			golden.map((g) => ({ ...g.raw, annual_inc: (g.raw.annual_inc as number) * 0.5 }))
		);
		// Eight writers at once (COPY on PostgreSQL), and the same idempotency keys written twice: the
		// counts must neither lose nor repeat a row.
		const stored = await t.core.db.select().from(predictions).limit(200);
		const copy = (row: (typeof stored)[number], at: string, key: string | null): NewPrediction => ({
			...row,
			id: randomUUID(),
			createdAt: new Date(at),
			idempotencyKey: key
		});
		await Promise.all(
			Array.from({ length: 8 }, () =>
				t.core.writer.writeMany(stored.map((row) => copy(row, concurrent, null)))
			)
		);
		const keyed = stored.map((row, i) => copy(row, concurrent, `drift-${i}`));
		const outcomes = await Promise.all([
			t.core.writer.writeMany(keyed),
			t.core.writer.writeMany(keyed.map((row) => ({ ...row, id: randomUUID() })))
		]);
		expect(outcomes.flat().filter((o) => o === 'duplicate')).toHaveLength(stored.length);
	}, 120_000);
	afterAll(async () => {
		await t.dispose();
	});

	it('should hold the counts a recount of the stored predictions gives', async () => {
		const manifest = t.core.models.resolve(model, version).manifest;
		const recount = new Map<string, number>();
		const result = await t.core.db.execute(recountStatement(referenceBins(manifest), { id: model, version }));
		for (const row of rowsOf<{ hour: string | Date; feature: string; bin: number; n: number | string }>(
			result
		)) {
			recount.set(`${new Date(row.hour).toISOString()} ${row.feature} ${row.bin}`, Number(row.n));
		}
		const stored = await t.core.db.select().from(driftCounts);
		const counts = new Map<string, number>();
		for (const c of stored) {
			c.counts.forEach((n, position) => {
				if (n === 0) return;
				const key = `${c.hour.toISOString()} ${c.feature} ${position + OTHER_BIN}`;
				counts.set(key, (counts.get(key) ?? 0) + Number(n));
			});
		}
		expect(counts).toEqual(recount);
		expect(counts.get(`${first} ${SCORE_FEATURE} 0`)).toBeGreaterThan(0);
		const perHour = stored
			.filter((c) => c.feature === SCORE_FEATURE)
			.flatMap((c) => c.counts)
			.reduce((sum, n) => sum + Number(n), 0);
		expect(perHour).toBe(2 * golden.length + 9 * 200);
	});

	it('should flag the halved income against the reference and leave the unshifted categories below act', async () => {
		const shifted = await drift({ from: second, to: end });
		expect(shifted.count).toBe(golden.length);
		expect(shifted.baseline).toMatchObject({ kind: 'reference', from: null, count: 7392 });
		const income = feature(shifted, 'annual_inc');
		expect(income.psi).toBeGreaterThan(0.25);
		expect(income.severity).toBe('act');
		expect(income.ks?.pValue).toBeLessThan(0.001);
		expect(income.bins).toHaveLength(10);
		expect(income.bins.reduce((sum, bin) => sum + bin.actual, 0)).toBeCloseTo(1, 9);
		for (const name of categorical) {
			expect(feature(shifted, name).severity, name).not.toBe('act');
			expect(feature(shifted, name).chiSquare).not.toBeNull();
		}
		const unshifted = await drift({ from: first, to: second });
		expect(feature(unshifted, 'annual_inc').psi).toBeLessThan(0.1);
		expect(feature(unshifted, 'annual_inc').missingRate).toEqual({ baseline: 0, actual: 0, change: 0 });
	});

	it('should compare with the window before when the baseline is previous', async () => {
		const view = await drift({ from: second, to: end, baseline: 'previous' });
		expect(view.baseline).toEqual({ kind: 'previous', from: first, to: second, count: golden.length });
		expect(feature(view, 'annual_inc').severity).toBe('act');
		// The same applicants in both hours: every other input is identical.
		for (const name of [...categorical, 'int_rate', 'funded_amnt']) {
			expect(feature(view, name).psi, name).toBeCloseTo(0, 12);
		}
		expect(feature(view, 'term').chiSquare?.pValue).toBeCloseTo(1, 9);
		expect(feature(view, 'int_rate').ks).toEqual({ statistic: 0, pValue: 1 });
		// Against an empty hour before, nothing is compared.
		const alone = await drift({ from: first, to: second, baseline: 'previous' });
		expect(alone.baseline.count).toBe(0);
	});

	it('should answer the same figures over REST, and field errors as 400s', async () => {
		const call = apiClient(t.core);
		const token = await serviceToken(t.core, 'drift-reader', 'risk_manager');
		const answer = await call({ path: `/models/${model}/drift?from=${second}&to=${end}`, token });
		expect(answer.status).toBe(200);
		expect(answer.json).toEqual(JSON.parse(JSON.stringify(await drift({ from: second, to: end }))));
		const bad = await call({ path: `/models/${model}/drift?from=${end}&to=${first}`, token });
		expect(bad.status).toBe(400);
		expect(JSON.stringify(bad.json)).toContain('Must be before to.');
		const unknown = await call({ path: '/models/nope/drift', token });
		expect(unknown.status).toBe(404);
		const scorer = await serviceToken(t.core, 'drift-scorer', 'scorer');
		expect((await call({ path: `/models/${model}/drift`, token: scorer })).status).toBe(403);
	});

	async function failure(input: Record<string, unknown>): Promise<TRPCError> {
		try {
			await drift(input);
		} catch (error) {
			expect(error).toBeInstanceOf(TRPCError);
			return error as TRPCError;
		}
		throw new Error('expected a failure');
	}

	it.each([
		[{ from: end, to: first }, 'from'],
		[{ from: first, to: first }, 'from'],
		[{ from: '1900-01-01T00:00:00Z', to: first }, 'from'],
		[{ from: first, to: '9999-01-01T00:00:00Z' }, 'to'],
		[{ from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'to'],
		[{ to: first }, 'from'],
		[{ window: 'day', from: first, to: end }, 'window'],
		[{ window: 'month' }, 'window'],
		[{ from: 'yesterday' }, 'from'],
		[{ baseline: 'last-year' }, 'baseline']
	])('should refuse %j with a field error on %s', async (input, field) => {
		const error = await failure(input);
		expect(error.code).toBe('BAD_REQUEST');
		const cause = error.cause as {
			fieldErrors?: Record<string, string[]>;
			issues?: { path: PropertyKey[] }[];
		};
		const fields = cause.fieldErrors
			? Object.keys(cause.fieldErrors)
			: (cause.issues ?? []).map((issue) => String(issue.path[0]));
		expect(fields).toEqual([field]);
	});

	it('should answer 404 for an unknown model or version', async () => {
		expect((await failure({ model: 'nope' })).code).toBe('NOT_FOUND');
		expect((await failure({ version: 'xgb-9.9.9' })).code).toBe('NOT_FOUND');
	});

	it('should refuse a scoring service and a viewer-less role', async () => {
		await expect(createCaller(t.context('scorer')).drift.get({ model })).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
		await expect(createCaller(t.context(null)).drift.get({ model })).rejects.toMatchObject({
			code: 'UNAUTHORIZED'
		});
	});
});
