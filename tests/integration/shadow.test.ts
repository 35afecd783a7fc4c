/**
 * Shadow scoring on a real database: a challenger put into shadow scores every champion decision
 * in the background with the probability that scoring it directly gives; calls naming another
 * version are not shadowed; a full shadow queue drops and counts without failing the champion;
 * the comparison of a controlled set equals figures computed by hand; registry transitions and
 * bad comparison requests are 4xx (404, 409, 400, 403), never 500.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCError } from '@trpc/server';
import { and, eq } from 'drizzle-orm';
import type { Action } from '@sveltejs/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, outcomes, predictions, shadowPredictions } from '$lib/server/db/schema';
import { encodeShap } from '$lib/server/services/stored-shap';
import { createCaller } from '$lib/server/trpc/root';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { apiClient, serviceToken } from '../helpers/api';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import { parseExposition, sampleSum } from '../helpers/prometheus';
import { metricsRequestHandler } from '$lib/server/observability/metrics-endpoint';
import * as shadowPage from '../../src/routes/models/[model]/shadow/+page.server';
import * as modelPage from '../../src/routes/models/[model]/+page.server';

const golden = goldenRows('lending-club/xgb-1.0.0');
const model = 'lending-club';
const shadowVersion = 'scorecard-1.0.0';
const reason = 'compare the scorecard on live traffic';

async function failure(work: () => Promise<unknown>): Promise<TRPCError> {
	try {
		await work();
	} catch (error) {
		expect(error).toBeInstanceOf(TRPCError);
		return error as TRPCError;
	}
	throw new Error('expected a failure');
}

describe.each(testDatabaseKinds())('shadow scoring on %s', (kind) => {
	let t: TestCore;
	const admin = () => createCaller(t.context('admin'));

	let restore: () => void = () => undefined;
	const loadPage = async (query: string) =>
		(await shadowPage.load(
			pageEvent({
				role: 'risk_manager',
				url: `/models/${model}/shadow?${query}`,
				params: { model },
				routeId: '/models/[model]/shadow'
			}) as never
		)) as {
			comparison: { count: number; shadowVersion: string } | null;
			fieldErrors: Record<string, string[]>;
			notice: string | null;
		};

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
	});
	afterAll(async () => {
		restore();
		await t?.dispose();
	});

	it('should refuse bad registry changes with 4xx and leave the registry as it was', async () => {
		const shadow = (input: Record<string, unknown>) => failure(() => admin().models.shadow(input as never));
		expect((await shadow({ model, version: 'xgb-1.0.0', reason })).code).toBe('CONFLICT');
		expect((await shadow({ model, version: 'nope-1.0.0', reason })).code).toBe('NOT_FOUND');
		expect((await shadow({ model: 'nope', version: shadowVersion, reason })).code).toBe('NOT_FOUND');
		const missing = await shadow({ model, version: shadowVersion, reason: '' });
		expect(missing.code).toBe('BAD_REQUEST');
		expect(JSON.stringify(missing.cause)).toContain('reason');
		expect((await failure(() => admin().models.unshadow({ model, reason }))).code).toBe('CONFLICT');
		await expect(
			createCaller(t.context('risk_manager')).models.shadow({ model, version: shadowVersion, reason })
		).rejects.toMatchObject({ code: 'FORBIDDEN' });
		expect(t.core.models.shadowOf(model)).toBeUndefined();
		expect(t.core.models.resolve(model, shadowVersion).status).toBe('challenger');
	});

	it('should score every champion decision with the version in shadow, with its exact probability', async () => {
		const change = await admin().models.shadow({ model, version: shadowVersion, reason });
		expect(change).toMatchObject({ model, version: shadowVersion, from: 'challenger', state: 'shadow' });
		expect(t.core.models.shadowOf(model)?.manifest.model.version).toBe(shadowVersion);
		expect((await failure(() => admin().models.shadow({ model, version: shadowVersion, reason }))).code).toBe(
			'CONFLICT'
		);
		const [audit] = await t.core.db
			.select()
			.from(auditLog)
			.where(and(eq(auditLog.action, 'model.shadow'), eq(auditLog.targetId, model)));
		expect(audit?.actorId).toBe('admin');
		expect(audit?.details).toMatchObject({ version: shadowVersion, fromState: 'challenger', reason });

		const scorer = createCaller(t.context('scorer'));
		const applicants = golden.slice(0, 40).map((g) => g.raw);
		const batch = await scorer.scoring.scoreBatch({ model, applicants });
		const single = await scorer.scoring.score({ model, applicant: applicants[0] });
		// A call naming a version is not the champion's decision: not shadowed.
		const named = await scorer.scoring.score({ model, version: shadowVersion, applicant: applicants[1] });
		await t.core.shadow.idle();

		const ids = [...batch.results.map((r) => (r.ok ? r.predictionId : '')), single.predictionId];
		const rows = await t.core.db.select().from(shadowPredictions);
		const byPrediction = new Map(rows.map((r) => [r.predictionId, r]));
		expect(rows).toHaveLength(ids.length);
		expect(byPrediction.has(named.predictionId)).toBe(false);

		// Scoring the shadow version directly gives the same probabilities and decisions.
		for (const [i, applicant] of [...applicants, applicants[0]].entries()) {
			const direct = await t.core.scoring.explainApplicant(
				{ principal: { kind: 'service', id: 'scorer' }, requestId: `direct-${i}`, channel: 'trpc' },
				{ model, version: shadowVersion, applicant }
			);
			const row = byPrediction.get(ids[i] ?? '');
			expect(row, `row ${i}`).toBeDefined();
			expect(row?.probability).toBe(direct.result.probability);
			expect(row?.decision).toBe(direct.result.decision);
			expect(row?.shadowVersion).toBe(shadowVersion);
			expect(row?.championVersion).toBe('xgb-1.0.0');
			const shap = new Float64Array(
				direct.version.manifest.features.map(
					(f) => direct.result.explanation?.contributions.find((c) => c.feature === f.name)?.shap ?? 0
				)
			);
			expect(Buffer.from(row?.shapValues ?? []).equals(encodeShap(shap))).toBe(true);
		}
		expect(t.core.shadow.stats().scored[`${model}@${shadowVersion}`]).toBe(ids.length);
		expect(t.core.shadow.stats().dropped[`${model}@${shadowVersion}`] ?? 0).toBe(0);

		// Nothing reads shadow rows as decisions: the predictions table holds only what was answered.
		const stored = await t.core.db.select({ id: predictions.id }).from(predictions);
		expect(stored).toHaveLength(ids.length + 1);

		const comparison = await createCaller(t.context('risk_manager')).models.shadowComparison({ model });
		expect(comparison.count).toBe(ids.length);
		expect(comparison.inShadow).toBe(true);

		// The portal page shows the procedure's figures; a bad window comes back beside its field.
		const page = await loadPage('window=day');
		expect(page.comparison).toEqual(JSON.parse(JSON.stringify(comparison)));
		expect((await loadPage('from=yesterday')).fieldErrors.from).toBeDefined();
		expect((await loadPage('version=xgb-9.9.9')).fieldErrors.version?.join(' ')).toMatch(/no version/);
	});

	it('should equal hand-computed figures on a controlled set', async () => {
		const [template] = await t.core.db.select().from(predictions).limit(1);
		if (!template) throw new Error('no prediction to copy');
		const features = t.core.models.resolve(model).manifest.features.length;
		const championShap = new Float64Array(features);
		championShap[0] = 0.1;
		const shadowShap = new Float64Array(features);
		shadowShap[0] = 0.4;
		shadowShap[1] = -0.2;
		const at = new Date('2026-03-02T10:30:00.000Z');
		// champion p, champion decision, shadow p, shadow decision, outcome (defaulted)
		const set = [
			[0.05, 'approve', 0.04, 'approve', null],
			[0.08, 'approve', 0.1, 'review', true],
			[0.12, 'review', 0.03, 'approve', false],
			[0.3, 'decline', 0.05, 'approve', true],
			[0.4, 'decline', 0.5, 'decline', null],
			[0.13, 'review', 0.2, 'decline', null]
		] as const;
		for (const [cp, cd, sp, sd, defaulted] of set) {
			const id = randomUUID();
			await t.core.db.insert(predictions).values({
				...template,
				id,
				createdAt: at,
				idempotencyKey: null,
				probability: cp,
				decision: cd,
				shapValues: encodeShap(championShap)
			});
			await t.core.db.insert(shadowPredictions).values({
				predictionId: id,
				modelId: model,
				shadowVersion,
				championVersion: template.modelVersion,
				probability: sp,
				decision: sd,
				shapValues: encodeShap(shadowShap),
				decidedAt: at
			});
			if (defaulted !== null) {
				await t.core.db.insert(outcomes).values({
					predictionId: id,
					version: 1,
					defaulted,
					observedAt: '2026-09-01',
					source: 'api',
					recordedBy: 'user:test',
					modelId: model,
					modelVersion: template.modelVersion,
					decidedAt: at
				});
			}
		}
		const view = await createCaller(t.context('risk_manager')).models.shadowComparison({
			model,
			from: '2026-03-02T10:00:00Z',
			to: '2026-03-02T11:00:00Z'
		});
		expect(view.count).toBe(6);
		expect(view.agreementRate).toBeCloseTo(2 / 6, 12);
		expect(view.flips).toEqual({
			approve: { approve: 1, review: 1, decline: 0 },
			review: { approve: 1, review: 0, decline: 1 },
			decline: { approve: 1, review: 0, decline: 1 }
		});
		expect(view.swapIns).toEqual({ count: 2, withOutcome: 2, bad: 1, badRate: 0.5 });
		expect(view.swapOuts).toEqual({ count: 1, withOutcome: 1, bad: 1, badRate: 1 });
		// Ranks 1 2 3 5 6 4 against 2 4 1 3 6 5: Σd² = 14, ρ = 1 − 6·14 / (6·35) = 0.6.
		expect(view.correlation.spearman).toBeCloseTo(0.6, 12);
		expect(view.correlation.pearson).toBeCloseTo(0.7101884701101476, 12);
		// Over the reference score edges: champion 0 0 0 0 0 0 1 1 1 3, shadow 0 0 0 0 1 1 1 0 1 2.
		expect(view.psi.bins.map((b) => b.champion)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 3]);
		expect(view.psi.bins.map((b) => b.shadow)).toEqual([0, 0, 0, 0, 1, 1, 1, 0, 1, 2]);
		expect(view.psi.value).toBeCloseTo(3.7746423951212664, 10);
		expect(view.meanProbability.champion).toBeCloseTo(1.08 / 6, 12);
		expect(view.meanProbability.shadow).toBeCloseTo(0.92 / 6, 12);
		const names = t.core.models.resolve(model).manifest.features.map((f) => f.name);
		expect(view.shapDifferences[0]?.feature).toBe(names[0]);
		expect(view.shapDifferences[0]?.meanAbsChampion).toBeCloseTo(0.1, 12);
		expect(view.shapDifferences[0]?.meanAbsShadow).toBeCloseTo(0.4, 12);
		expect(view.shapDifferences[0]?.meanAbsDifference).toBeCloseTo(0.3, 12);
		expect(view.shapDifferences[1]?.feature).toBe(names[1]);
		expect(view.shapDifferences[1]?.meanAbsDifference).toBeCloseTo(0.2, 12);
		expect(view.shapDifferences[2]?.meanAbsDifference).toBe(0);

		const call = apiClient(t.core);
		const token = await serviceToken(t.core, 'shadow-reader', 'risk_manager');
		const answer = await call({
			path: `/models/${model}/shadow?from=2026-03-02T10:00:00Z&to=2026-03-02T11:00:00Z`,
			token
		});
		expect(answer.status).toBe(200);
		expect(answer.json).toEqual(JSON.parse(JSON.stringify(view)));
		const scorer = await serviceToken(t.core, 'shadow-scorer', 'scorer');
		expect((await call({ path: `/models/${model}/shadow`, token: scorer })).status).toBe(403);
		const bad = await call({
			path: `/models/${model}/shadow?from=2026-03-02T11:00:00Z&to=2026-03-02T10:00:00Z`,
			token
		});
		expect(bad.status).toBe(400);
		expect(JSON.stringify(bad.json)).toContain('Must be before to.');
	});

	it('should answer bad comparison requests with 4xx', async () => {
		const compare = (input: Record<string, unknown>) =>
			failure(() => createCaller(t.context('risk_manager')).models.shadowComparison({ model, ...input }));
		expect((await compare({ model: 'nope' })).code).toBe('NOT_FOUND');
		expect((await compare({ version: 'xgb-9.9.9' })).code).toBe('NOT_FOUND');
		// The champion was never in shadow.
		expect((await compare({ version: 'xgb-1.0.0' })).code).toBe('CONFLICT');
		expect((await compare({ from: 'yesterday' })).code).toBe('BAD_REQUEST');
		expect((await compare({ from: '2026-03-02T11:00:00Z', to: '2026-03-02T10:00:00Z' })).code).toBe(
			'BAD_REQUEST'
		);
		expect((await compare({ window: 'month' })).code).toBe('BAD_REQUEST');
		await expect(createCaller(t.context('scorer')).models.shadowComparison({ model })).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
	});

	it('should take the version out of shadow, back to challenger, and keep its rows comparable', async () => {
		const change = await admin().models.unshadow({ model, reason: 'seen enough' });
		expect(change).toMatchObject({ version: shadowVersion, from: 'shadow', state: 'challenger' });
		expect(t.core.models.resolve(model, shadowVersion).status).toBe('challenger');
		const before = (await t.core.db.select().from(shadowPredictions)).length;
		await createCaller(t.context('scorer')).scoring.score({ model, applicant: golden[3]?.raw });
		await t.core.shadow.idle();
		expect((await t.core.db.select().from(shadowPredictions)).length).toBe(before);
		const compare = createCaller(t.context('risk_manager')).models.shadowComparison;
		expect((await failure(() => compare({ model }))).code).toBe('CONFLICT');
		expect((await loadPage('')).notice).toMatch(/no version in shadow/);
		const past = await compare({ model, version: shadowVersion });
		expect(past.inShadow).toBe(false);
		expect(past.count).toBeGreaterThan(0);
	});

	it('should put a version into shadow and out of it from the model page (admins)', async () => {
		const act = (name: 'shadow' | 'unshadow', form: Record<string, string>) =>
			(modelPage.actions as Record<'shadow' | 'unshadow', Action>)[name](
				pageEvent({
					role: 'admin',
					url: `/models/${model}?/${name}`,
					params: { model },
					routeId: '/models/[model]',
					form
				})
			) as Promise<Record<string, unknown>>;
		const missing = (await act('shadow', { version: shadowVersion, reason: '' })) as {
			status: number;
			data: { fieldErrors: Record<string, string[]> };
		};
		expect(missing.status).toBe(400);
		expect(missing.data.fieldErrors.reason).toBeDefined();
		const champion = (await act('shadow', { version: 'xgb-1.0.0', reason })) as {
			status: number;
			data: { message: string };
		};
		expect(champion.status).toBe(409);
		expect(champion.data.message).toMatch(/champion/);
		expect(await act('shadow', { version: shadowVersion, reason })).toMatchObject({
			shadowChange: { version: shadowVersion, state: 'shadow' }
		});
		const loaded = (await modelPage.load(
			pageEvent({
				role: 'admin',
				url: `/models/${model}`,
				params: { model },
				routeId: '/models/[model]'
			}) as never
		)) as { inShadow: string | null; canCompare: boolean };
		expect(loaded).toMatchObject({ inShadow: shadowVersion, canCompare: true });
		expect(await act('unshadow', { reason: 'done' })).toMatchObject({
			shadowChange: { version: shadowVersion, state: 'challenger' }
		});
	});
});

describe.each(testDatabaseKinds())('a full shadow queue on %s', (kind) => {
	let t: TestCore;

	beforeAll(async () => {
		t = await startTestCore(kind, { SHADOW_QUEUE_ROWS: '5' });
		await createCaller(t.context('admin')).models.shadow({ model, version: shadowVersion, reason });
	});
	afterAll(async () => {
		await t?.dispose();
	});

	/** The process's shadow counters on /metrics (cumulative over the file's cores, hence deltas). */
	async function counters(): Promise<{ scored: number; dropped: number }> {
		const server = http.createServer(metricsRequestHandler(undefined));
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		try {
			const { port } = server.address() as AddressInfo;
			const series = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
			const labels = { model, version: shadowVersion };
			return {
				scored: sampleSum(series, 'credible_shadow_scored_total', labels),
				dropped: sampleSum(series, 'credible_shadow_dropped_total', labels)
			};
		} finally {
			await new Promise((resolve) => server.close(resolve));
		}
	}

	it('should drop and count shadow work, never the champion’s', async () => {
		const before = await counters();
		const applicants = golden.slice(0, 50).map((g) => g.raw);
		const batch = await createCaller(t.context('scorer')).scoring.scoreBatch({ model, applicants });
		expect(batch.summary.scored).toBe(50);
		expect(batch.results.every((r) => r.ok)).toBe(true);
		await t.core.shadow.idle();
		const after = await counters();
		expect(after.dropped - before.dropped).toBe(45);
		expect(after.scored - before.scored).toBe(5);
		const stats = t.core.shadow.stats();
		expect(stats.scored[`${model}@${shadowVersion}`]).toBe(5);
		expect(stats.dropped[`${model}@${shadowVersion}`]).toBe(45);
		expect(await t.core.db.select().from(shadowPredictions)).toHaveLength(5);
		expect(await t.core.db.select({ id: predictions.id }).from(predictions)).toHaveLength(50);
	});
});
