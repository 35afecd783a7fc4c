/**
 * Backtests on a real database: the stored xgb decisions of a period replayed through the
 * scorecard give one result per application with exactly the probability that scoring it directly
 * gives; progress reaches the total; the comparison equals the shadow comparison of the same
 * decisions; a run stopped mid-way is resumed by another instance without scoring a row twice;
 * bad requests are 4xx (400 by field, 403, 404, 409), never 500.
 */
import { TRPCError } from '@trpc/server';
import { and, count, countDistinct, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, backtestPredictions, backtests } from '$lib/server/db/schema';
import { BacktestRunner } from '$lib/server/services/backtest-runner';
import { startBacktest } from '$lib/server/services/backtest.service';
import { poolEngine } from '$lib/server/services/inference-engine';
import { encodeShap } from '$lib/server/services/stored-shap';
import type { ScoringEngine } from '$lib/server/services/scoring/types';
import { createCaller } from '$lib/server/trpc/root';
import { toFieldErrors } from '$lib/validation/field-errors';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { apiClient, serviceToken } from '../helpers/api';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import type { Action } from '@sveltejs/kit';
import * as listPage from '../../src/routes/models/[model]/backtests/+page.server';
import * as onePage from '../../src/routes/models/[model]/backtests/[id]/+page.server';

const golden = goldenRows('lending-club/xgb-1.0.0');
const model = 'lending-club';
const candidate = 'scorecard-1.0.0';
const reason = 'replay last week through the scorecard';

async function failure(work: () => Promise<unknown>): Promise<TRPCError> {
	try {
		await work();
	} catch (error) {
		expect(error).toBeInstanceOf(TRPCError);
		return error as TRPCError;
	}
	throw new Error('expected a failure');
}

/** Equal, numbers to 12 digits (the two sources may sum the same rows in another order). */
function expectClose(actual: unknown, expected: unknown, path = ''): void {
	if (typeof expected === 'number' && typeof actual === 'number') {
		expect(actual, path).toBeCloseTo(expected, 12);
	} else if (expected && typeof expected === 'object') {
		expect(actual, path).toBeTypeOf('object');
		expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
		for (const [key, value] of Object.entries(expected))
			expectClose((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
	} else {
		expect(actual, path).toEqual(expected);
	}
}

/** The real pool engine, counting the rows it is sent per prediction input. */
function countingEngine(engine: ScoringEngine): { engine: ScoringEngine; rows: () => number } {
	let rows = 0;
	return {
		engine: {
			run: (version, applicants) => {
				rows += applicants.length;
				return engine.run(version, applicants);
			}
		},
		rows: () => rows
	};
}

describe.each(testDatabaseKinds())('backtests on %s', (kind) => {
	let t: TestCore;
	const admin = () => createCaller(t.context('admin'));
	const reader = () => createCaller(t.context('risk_manager'));
	let from = '';
	let to = '';
	let stored: string[] = [];
	let restore: () => void = () => undefined;

	beforeAll(async () => {
		// The core's runner looks only when poked here (a start through the API), never by itself.
		t = await startTestCore(kind, { BACKTEST_POLL_MS: '600000', BACKTEST_CHUNK_ROWS: '16' });
		restore = useAsProcessCore(t.core);
		from = new Date(Date.now() - 60_000).toISOString();
		// The scorecard in shadow scores the same decisions: its comparison is the backtest's yardstick.
		await admin().models.shadow({ model, version: candidate, reason: 'yardstick' });
		const scorer = createCaller(t.context('scorer'));
		const batch = await scorer.scoring.scoreBatch({
			model,
			applicants: golden.slice(0, 50).map((g) => g.raw)
		});
		const single = await scorer.scoring.score({ model, applicant: golden[50]?.raw });
		await t.core.shadow.idle();
		stored = [...batch.results.map((r) => (r.ok ? r.predictionId : '')), single.predictionId];
		await new Promise((resolve) => setTimeout(resolve, 5));
		to = new Date().toISOString();
		await admin().models.unshadow({ model, reason: 'yardstick taken' });
	});
	afterAll(async () => {
		restore();
		await t?.dispose();
	});

	it('should replay every stored application with the probability the candidate gives directly', async () => {
		const started = await admin().models.backtest.start({ model, version: candidate, from, to, reason });
		expect(started).toMatchObject({ model, version: candidate, status: 'queued', total: stored.length });
		expect(started.done).toBe(0);
		const [audit] = await t.core.db
			.select()
			.from(auditLog)
			.where(and(eq(auditLog.action, 'model.backtest'), eq(auditLog.targetId, model)));
		expect(audit?.actorId).toBe('admin');
		expect(audit?.details).toMatchObject({ backtest: started.id, version: candidate, reason });

		await t.core.backtests.idle();
		const done = await reader().models.backtest.get({ model, id: started.id });
		expect(done).toMatchObject({
			status: 'completed',
			total: stored.length,
			done: stored.length,
			skipped: 0
		});
		expect(done.progress).toBe(1);
		expect(done.instance).toBe(t.core.backtests.instance);

		const rows = await t.core.db
			.select()
			.from(backtestPredictions)
			.where(eq(backtestPredictions.backtestId, started.id));
		expect(rows.map((r) => r.predictionId).sort()).toEqual([...stored].sort());
		const byPrediction = new Map(rows.map((r) => [r.predictionId, r]));
		const applicants = [...golden.slice(0, 50), golden[50]].map((g) => g?.raw);
		for (const [i, applicant] of applicants.entries()) {
			const direct = await t.core.scoring.explainApplicant(
				{ principal: { kind: 'service', id: 'scorer' }, requestId: `direct-${i}`, channel: 'trpc' },
				{ model, version: candidate, applicant }
			);
			const row = byPrediction.get(stored[i] ?? '');
			expect(row?.probability, `row ${i}`).toBe(direct.result.probability);
			expect(row?.decision, `row ${i}`).toBe(direct.result.decision);
			const shap = new Float64Array(
				direct.version.manifest.features.map(
					(f) => direct.result.explanation?.contributions.find((c) => c.feature === f.name)?.shap ?? 0
				)
			);
			expect(Buffer.from(row?.shapValues ?? []).equals(encodeShap(shap)), `shap ${i}`).toBe(true);
		}

		// The same figures as the shadow comparison of the same decisions.
		const comparison = await reader().models.backtest.comparison({ model, id: started.id });
		const shadow = await reader().models.shadowComparison({ model, version: candidate, from, to });
		expect(shadow.count).toBe(stored.length);
		expect(comparison.count).toBe(stored.length);
		const { backtest, version, model: compared, ...figures } = comparison;
		const { shadowVersion, inShadow, window, model: shadowModel, ...shadowFigures } = shadow;
		expect([backtest.id, version, compared, shadowVersion, inShadow, shadowModel]).toEqual([
			started.id,
			candidate,
			model,
			candidate,
			false,
			model
		]);
		expect(window.from).toBeDefined();
		expectClose(figures, shadowFigures);
		expect(comparison.agreementRate).not.toBeNull();

		const list = await reader().models.backtest.list({ model });
		expect(list.map((b) => b.id)).toContain(started.id);

		// REST: the reading routes for risk managers, refused to a scorer.
		const call = apiClient(t.core);
		const token = await serviceToken(t.core, 'backtest-reader', 'risk_manager');
		const one = await call({ path: `/models/${model}/backtests/${started.id}`, token });
		expect(one.status).toBe(200);
		expect(one.json).toEqual(JSON.parse(JSON.stringify(done)));
		const rest = await call({ path: `/models/${model}/backtests/${started.id}/comparison`, token });
		expect(rest.status).toBe(200);
		expect((rest.json as { count: number }).count).toBe(stored.length);
		const scorer = await serviceToken(t.core, 'backtest-scorer', 'scorer');
		expect((await call({ path: `/models/${model}/backtests`, token: scorer })).status).toBe(403);
		const post = await call({
			method: 'POST',
			path: `/models/${model}/backtests`,
			token,
			body: { version: candidate, from, to, reason }
		});
		expect(post.status).toBe(403);
	});

	it('should resume a stopped run on another instance without scoring a row twice', async () => {
		const queued = await startBacktest(
			{ db: t.core.db, models: t.core.models },
			{
				kind: 'user',
				id: 'admin',
				name: 'admin'
			},
			{ model, version: candidate, from, to, reason: 'resumption' }
		);
		const options = { chunkRows: 7, pollMs: 600_000, staleMs: 60_000, yieldAboveQueuedRows: 64 };
		const a = countingEngine(poolEngine(t.core.pool));
		const first = new BacktestRunner(
			{ db: t.core.db, models: t.core.models, engine: a.engine, instance: 'instance-a', queuedRows: () => 0 },
			options
		);
		// Three chunks, then instance a "stops": the row stays running under its claim.
		const partial = await first.runNext({ maxChunks: 3 });
		expect(partial).toMatchObject({ id: queued.id, scored: 21, ended: 'stopped' });
		const [mid] = await t.core.db.select().from(backtests).where(eq(backtests.id, queued.id));
		expect(mid).toMatchObject({ status: 'running', instance: 'instance-a', done: 21 });

		const b = countingEngine(poolEngine(t.core.pool));
		const later = Date.now() + options.staleMs + 1_000;
		const second = (clock: () => number) =>
			new BacktestRunner(
				{
					db: t.core.db,
					models: t.core.models,
					engine: b.engine,
					instance: 'instance-b',
					queuedRows: () => 0,
					clock
				},
				options
			);
		// While a's heartbeat is fresh nobody else may claim it.
		expect(await second(Date.now).claim()).toBeNull();
		const resumed = await second(() => later).runNext();
		expect(resumed).toMatchObject({ id: queued.id, ended: 'completed', scored: stored.length - 21 });
		expect(a.rows() + b.rows()).toBe(stored.length);

		const [{ rows, distinct } = { rows: 0, distinct: 0 }] = await t.core.db
			.select({ rows: count(), distinct: countDistinct(backtestPredictions.predictionId) })
			.from(backtestPredictions)
			.where(eq(backtestPredictions.backtestId, queued.id));
		expect([rows, distinct]).toEqual([stored.length, stored.length]);
		const view = await reader().models.backtest.get({ model, id: queued.id });
		expect(view).toMatchObject({ status: 'completed', done: stored.length, instance: 'instance-b' });
		// Instance a comes back: nothing left for it, and its old claim writes nothing.
		expect(await first.runNext()).toBeNull();
		const cancelled = await failure(() => admin().models.backtest.cancel({ model, id: queued.id, reason }));
		expect(cancelled.code).toBe('CONFLICT');
	});

	it('should start a backtest from the portal (admins) and show its progress and comparison', async () => {
		const act = (role: 'admin' | 'risk_manager', form: Record<string, string>) =>
			(listPage.actions as Record<'start', Action>).start(
				pageEvent({
					role,
					url: `/models/${model}/backtests?/start`,
					params: { model },
					routeId: '/models/[model]/backtests',
					form
				})
			) as Promise<Record<string, unknown>>;
		const bad = (await act('admin', { version: candidate, from: to, to: from, reason })) as {
			status: number;
			data: { fieldErrors: Record<string, string[]> };
		};
		expect(bad.status).toBe(400);
		expect(bad.data.fieldErrors.from?.join(' ')).toMatch(/before to/);
		const refused = (await act('risk_manager', { version: candidate, from, to, reason })) as {
			status: number;
		};
		expect(refused.status).toBe(403);
		const started = (await act('admin', { version: candidate, from, to, reason: 'from the portal' })) as {
			started: string;
		};
		expect(started.started).toBeTypeOf('string');
		await t.core.backtests.idle();
		const list = (await listPage.load(
			pageEvent({
				role: 'risk_manager',
				url: `/models/${model}/backtests`,
				params: { model },
				routeId: '/models/[model]/backtests'
			}) as never
		)) as { backtests: { id: string; done: number; total: number; status: string }[]; canStart: boolean };
		expect(list.canStart).toBe(false);
		expect(list.backtests.find((b) => b.id === started.started)).toMatchObject({
			status: 'completed',
			done: stored.length,
			total: stored.length
		});
		const one = (await onePage.load(
			pageEvent({
				role: 'risk_manager',
				url: `/models/${model}/backtests/${started.started}`,
				params: { model, id: started.started },
				routeId: '/models/[model]/backtests/[id]'
			}) as never
		)) as { comparison: { count: number } };
		expect(one.comparison.count).toBe(stored.length);
	});

	it('should refuse bad requests with field-level 4xx', async () => {
		const start = (input: Record<string, unknown>) =>
			failure(() => admin().models.backtest.start({ model, version: candidate, from, to, reason, ...input }));
		const fieldOf = async (input: Record<string, unknown>, field: string, text: RegExp) => {
			const error = await start(input);
			expect(error.code, field).toBe('BAD_REQUEST');
			const cause = error.cause as {
				issues?: Parameters<typeof toFieldErrors>[0];
				fieldErrors?: Record<string, string[]>;
			};
			const fields = cause.fieldErrors ?? toFieldErrors(cause.issues ?? []);
			expect(fields[field]?.join(' '), field).toMatch(text);
		};
		expect((await start({ model: 'nope' })).code).toBe('NOT_FOUND');
		await fieldOf({ version: 'xgb-9.9.9' }, 'version', /No version/);
		await fieldOf({ from: to, to: from }, 'from', /before to/);
		await fieldOf({ from: '1999-12-31T00:00:00Z' }, 'from', /2000/);
		await fieldOf({ to: new Date(Date.now() + 3_600_000).toISOString() }, 'to', /future/);
		await fieldOf({ from: 'yesterday' }, 'from', /ISO 8601/);
		await fieldOf(
			{ from: '2001-01-01T00:00:00Z', to: '2001-02-01T00:00:00Z' },
			'from',
			/No stored application/
		);
		await fieldOf({ reason: '' }, 'reason', /reason/);
		expect(
			(await failure(() => reader().models.backtest.start({ model, version: candidate, from, to, reason })))
				.code
		).toBe('FORBIDDEN');
		const unknownId = '00000000-0000-4000-8000-000000000000';
		expect((await failure(() => reader().models.backtest.get({ model, id: unknownId }))).code).toBe(
			'NOT_FOUND'
		);
		expect((await failure(() => reader().models.backtest.comparison({ model, id: 'x' }))).code).toBe(
			'BAD_REQUEST'
		);
		expect((await failure(() => reader().models.backtest.list({ model: 'nope' }))).code).toBe('NOT_FOUND');

		// A retired version is refused: promote the scorecard, roll back (it is retired).
		await admin().models.promote({ model, version: candidate, reason: 'try it' });
		await admin().models.rollback({ model, reason: 'back' });
		expect(t.core.models.resolve(model, candidate).status).toBe('retired');
		await fieldOf({}, 'version', /retired/);
		const [{ n } = { n: 0 }] = await t.core.db.select({ n: count() }).from(backtests);
		expect(n).toBe(3);
	});
});
