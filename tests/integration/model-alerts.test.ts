/**
 * The model-quality alert rules on a real database, driven with an injected clock:
 *
 * - `feature_drift`: golden applicants with halved incomes, scored through the service (so their
 *   drift counts are written by the real writer), raise one alert on annual_inc and none on the
 *   unshifted features, once across two instances; unshifted applicants added afterwards bring the
 *   PSI between the two thresholds (the alert stays open) and then below the lower one (resolved).
 * - `performance_drop`: predictions with distinct probabilities and outcomes recorded through the
 *   outcomes service; the realised AUC, exact by construction, falls below the holdout AUC minus
 *   the margin (raised once), climbs into the hysteresis band (stays open) and back (resolved).
 *
 * Both publish their figures on `/metrics`.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, ne } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '$lib/server/core';
import type { Core } from '$lib/server/core-types';
import { parseEnv } from '$lib/server/env';
import { alerts, type AlertRule, type NewPrediction } from '$lib/server/db/schema';
import { AlertEngine, type Timers, type Transition } from '$lib/server/monitoring/alerts';
import { scrapeMetrics } from '$lib/server/observability/metrics';
import { recordOutcomes } from '$lib/server/services/outcomes.service';
import { createCaller } from '$lib/server/trpc/root';
import type { Context } from '$lib/server/trpc/trpc';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';
import { goldenRows } from '../helpers/golden';

const MINUTE = 60_000;
const MODEL = 'lending-club';
const VERSION = 'xgb-1.0.0';
const golden = goldenRows(`${MODEL}/${VERSION}`);

/** Timers that never fire: the test runs each evaluation itself, at the time it sets. */
const stillTimers: Timers = { setInterval: () => 0, clearInterval: () => undefined };

async function startCore(database: TestDatabase, env: Record<string, string>, clock: () => number) {
	return createCore(parseEnv(env), database, {
		ownsDatabase: false,
		workers: 1,
		monitoring: { clock, timers: stillTimers, instance: 'instance-a' }
	});
}

function scorerContext(core: Core): Context {
	return {
		core,
		principal: { kind: 'service', id: 'scorer-1', name: 'scorer', role: 'scorer' },
		requestId: `test-${randomUUID()}`,
		ip: null,
		channel: 'trpc'
	};
}

async function openAlerts(core: Core, rule: AlertRule) {
	return core.db
		.select()
		.from(alerts)
		.where(and(eq(alerts.rule, rule), ne(alerts.status, 'resolved')));
}

const ofRule = (transitions: readonly Transition[], rule: AlertRule) =>
	transitions.filter((t) => t.alert.rule === rule);

/** The value of one series in a Prometheus text exposition, or undefined. */
function sample(exposition: string, name: string, labels: Record<string, string>): number | undefined {
	for (const line of exposition.split('\n')) {
		if (!line.startsWith(`${name}{`)) continue;
		const body = line.slice(name.length + 1, line.indexOf('}'));
		const found = Object.fromEntries(
			[...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as [string, string])
		);
		if (Object.entries(labels).every(([k, v]) => found[k] === v))
			return Number(line.slice(line.indexOf('}') + 1).trim());
	}
	return undefined;
}

describe.each(testDatabaseKinds())('feature drift alert on %s', (kind) => {
	let database: TestDatabase;
	let core: Core;
	let now = Date.now();
	const key = `${MODEL}/${VERSION}/annual_inc`;

	beforeAll(async () => {
		database = await openTestDatabase(kind);
		core = await startCore(
			database,
			{
				ALERT_DRIFT_MIN_VALUES: '100',
				// The performance rule is not what this block is about.
				ALERT_AUC_MIN_PREDICTIONS: '10000000'
			},
			() => now
		);
	}, 60_000);
	afterAll(async () => {
		await core?.stop();
		await database?.dispose();
	});

	async function score(incomeFactor: number): Promise<void> {
		const applicants = golden.map((g) => ({
			...g.raw,
			annual_inc: (g.raw.annual_inc as number) * incomeFactor
		}));
		const batch = await createCaller(scorerContext(core)).scoring.scoreBatch({ model: MODEL, applicants });
		expect(batch.summary.scored).toBe(golden.length);
		// The scoring service stamps the system time; the evaluator's clock follows it.
		now = Math.max(now, Date.now());
	}

	it('should raise one alert for the shifted feature, once across two instances, and none for the others', async () => {
		await score(0.5);
		const other = new AlertEngine({
			db: core.db,
			recorder: core.monitoring.requests,
			models: core.models,
			config: core.env,
			instance: 'instance-b',
			clock: () => now
		});
		const [mine, theirs] = await Promise.all([core.monitoring.alerts.evaluate(), other.evaluate()]);
		const raised = ofRule([...mine, ...theirs], 'feature_drift');
		expect(raised.map((t) => [t.change, t.alert.key])).toEqual([['raised', key]]);

		const open = await openAlerts(core, 'feature_drift');
		expect(open).toHaveLength(1);
		const [alert] = open;
		expect(alert).toMatchObject({ key, severity: 'warning', threshold: 0.25 });
		expect(alert!.value).toBeGreaterThanOrEqual(0.25);
		expect(alert!.summary).toMatch(
			new RegExp(
				`^Input annual_inc of ${MODEL}/${VERSION} drifted: PSI \\d+\\.\\d\\d .*last 24 h \\(246 values\\)`
			)
		);
		expect(alert!.details).toMatchObject({
			model: MODEL,
			version: VERSION,
			feature: 'annual_inc',
			values: 246,
			resolveBelow: 0.1
		});

		// The PSI the alert holds is the drift service's, for the same hours.
		const view = await createCaller({
			...scorerContext(core),
			principal: { kind: 'user', id: 'rm', name: 'rm', role: 'risk_manager' }
		}).drift.get({ model: MODEL, version: VERSION, window: 'day' });
		const features = new Map(view.features.map((f) => [f.feature, f.psi]));
		expect(alert!.value).toBeCloseTo(features.get('annual_inc')!, 12);
		// Every other feature is below the raise threshold: nothing else may be raised.
		for (const [feature, psi] of features) if (feature !== 'annual_inc') expect(psi).toBeLessThan(0.25);
	});

	it('should publish every judged feature on /metrics', async () => {
		const [alert] = await openAlerts(core, 'feature_drift');
		const exposition = await scrapeMetrics();
		expect(exposition).toMatch(/# TYPE credible_feature_psi gauge/);
		const labels = { model: MODEL, version: VERSION };
		expect(sample(exposition, 'credible_feature_psi', { ...labels, feature: 'annual_inc' })).toBeCloseTo(
			alert!.value!,
			9
		);
		const manifest = core.models.resolve(MODEL, VERSION).manifest;
		for (const f of manifest.features)
			expect(sample(exposition, 'credible_feature_psi', { ...labels, feature: f.name })).toBeTypeOf('number');
		// The challenger has no traffic: too few values, nothing published for it.
		expect(sample(exposition, 'credible_feature_psi', { model: MODEL, version: 'scorecard-1.0.0' })).toBe(
			undefined
		);
	});

	it('should not raise it again on later evaluations', async () => {
		now += 15_000;
		const again = await core.monitoring.alerts.evaluate();
		expect(ofRule(again, 'feature_drift')).toEqual([]);
		expect(await core.db.select().from(alerts).where(eq(alerts.rule, 'feature_drift'))).toHaveLength(1);
		const [alert] = await openAlerts(core, 'feature_drift');
		expect(alert!.lastEvaluatedAt.getTime()).toBe(now);
	});

	it('should keep it open while the PSI lies between the thresholds, and resolve it below the lower one', async () => {
		const psiOf = async () => (await openAlerts(core, 'feature_drift'))[0]?.value ?? undefined;
		const first = (await psiOf())!;
		// Unshifted applicants dilute the shift, one golden set at a time.
		const seen: number[] = [];
		for (let round = 0; round < 8; round++) {
			await score(1);
			now += 15_000;
			const transitions = ofRule(await core.monitoring.alerts.evaluate(), 'feature_drift');
			const psi = await psiOf();
			if (psi === undefined) {
				expect(transitions.map((t) => [t.change, t.alert.key])).toEqual([['resolved', key]]);
				break;
			}
			expect(transitions).toEqual([]);
			seen.push(psi);
		}
		// It went through the band (open, below the raise threshold) before it resolved.
		expect(seen.length).toBeGreaterThan(0);
		expect(seen.some((psi) => psi < 0.25 && psi >= 0.1)).toBe(true);
		expect(Math.max(...seen)).toBeLessThan(first);
		expect(await openAlerts(core, 'feature_drift')).toEqual([]);
		const [resolved] = await core.db.select().from(alerts).where(eq(alerts.key, key));
		expect(resolved).toMatchObject({ status: 'resolved' });
		expect(resolved!.details.resolution).toMatch(/^PSI back to 0\.0\d\d$/);
	});

	it('should not raise it again while the PSI is between the thresholds with no alert open', async () => {
		// Another set with halved incomes: a third of the window is shifted, its PSI lands in the
		// band, where only an open alert would stay open.
		await score(0.5);
		now += 15_000;
		const transitions = ofRule(await core.monitoring.alerts.evaluate(), 'feature_drift');
		const exposition = await scrapeMetrics();
		const psi = sample(exposition, 'credible_feature_psi', {
			model: MODEL,
			version: VERSION,
			feature: 'annual_inc'
		})!;
		expect(psi).toBeGreaterThanOrEqual(0.1);
		expect(psi).toBeLessThan(0.25);
		expect(transitions).toEqual([]);
		expect(await openAlerts(core, 'feature_drift')).toEqual([]);
	});

	it('should raise it again above the raise threshold, and resolve it and drop the gauges once the window is empty', async () => {
		await score(0.5);
		await score(0.5);
		now += 15_000;
		const raised = ofRule(await core.monitoring.alerts.evaluate(), 'feature_drift');
		expect(raised.map((t) => [t.change, t.alert.key])).toEqual([['raised', key]]);

		// A day later, with no prediction since, the window holds no value.
		now += 25 * 60 * MINUTE;
		const resolved = ofRule(await core.monitoring.alerts.evaluate(), 'feature_drift');
		expect(resolved.map((t) => [t.change, t.alert.key])).toEqual([['resolved', key]]);
		expect(resolved[0]!.alert.details.resolution).toBe(
			'fewer than 100 values of annual_inc in the last 24 h'
		);
		expect(await scrapeMetrics()).not.toMatch(/^credible_feature_psi\{/m);
	});

	it('should watch a challenger too, and resolve its alerts once it is retired', async () => {
		now = Date.now();
		const challenger = 'scorecard-1.0.0';
		const challengerKey = `${MODEL}/${challenger}/annual_inc`;
		const applicants = golden.map((g) => ({ ...g.raw, annual_inc: (g.raw.annual_inc as number) * 0.5 }));
		await createCaller(scorerContext(core)).scoring.scoreBatch({
			model: MODEL,
			version: challenger,
			applicants
		});
		now = Math.max(now, Date.now());
		const raised = ofRule(await core.monitoring.alerts.evaluate(), 'feature_drift');
		expect(raised.filter((t) => t.alert.key === challengerKey).map((t) => t.change)).toEqual(['raised']);

		// Promoted, then rolled back: the version rolled back is retired, and no longer scored.
		const admin = createCaller({
			...scorerContext(core),
			principal: { kind: 'user', id: 'admin-1', name: 'admin', role: 'admin' }
		});
		await admin.models.promote({ model: MODEL, version: challenger, reason: 'Trial of the scorecard' });
		await admin.models.rollback({ model: MODEL, reason: 'Inputs drifted' });
		expect(core.models.resolve(MODEL, challenger).status).toBe('retired');
		now += 15_000;
		const resolved = ofRule(await core.monitoring.alerts.evaluate(), 'feature_drift').filter((t) =>
			t.alert.key.startsWith(`${MODEL}/${challenger}/`)
		);
		expect(resolved.map((t) => [t.change, t.alert.key])).toEqual([['resolved', challengerKey]]);
		expect(resolved[0]!.alert.details.resolution).toBe('model version no longer live');
		const exposition = await scrapeMetrics();
		expect(sample(exposition, 'credible_feature_psi', { model: MODEL, version: challenger })).toBe(undefined);
	});
});

describe.each(testDatabaseKinds())('performance drop alert on %s', (kind) => {
	let database: TestDatabase;
	let core: Core;
	let now = Date.now();
	const key = `${MODEL}/${VERSION}`;
	const N = 400;
	const BAD = 40;
	const ids: string[] = [];
	let holdout: number;

	beforeAll(async () => {
		database = await openTestDatabase(kind);
		core = await startCore(
			database,
			{
				// Outcomes count as soon as they are recorded.
				PERFORMANCE_MATURITY_MONTHS: '0',
				ALERT_AUC_MIN_OUTCOMES: '100',
				ALERT_AUC_MIN_PREDICTIONS: '100',
				ALERT_AUC_EVAL_MINUTES: '15'
			},
			() => now
		);
		holdout = core.models.resolve(MODEL, VERSION).manifest.metrics.holdout.auc;
		// Decisions of three days ago, with distinct probabilities ranked by index.
		const decidedAt = new Date(now - 3 * 24 * 60 * MINUTE);
		const rows: NewPrediction[] = Array.from({ length: N }, (_, i) => {
			const probability = 0.01 + i * 0.001;
			const id = randomUUID();
			ids.push(id);
			return {
				id,
				createdAt: decidedAt,
				modelId: MODEL,
				modelVersion: VERSION,
				requestId: `req-${id}`,
				requester: 'service:test',
				channel: 'api',
				input: {},
				probability,
				margin: Math.log(probability / (1 - probability)),
				points: 600,
				band: 'B',
				decision: 'approve',
				reasons: [],
				latencyMs: 1
			};
		});
		await core.writer.writeMany(rows);
	}, 60_000);
	afterAll(async () => {
		await core?.stop();
		await database?.dispose();
	});

	/**
	 * Outcomes where the loans ranked `first` … `first + BAD − 1` (by probability) defaulted: each of
	 * them outranks exactly `first` repaid loans, so the AUC is `first / (N − BAD)`.
	 */
	async function outcomes(first: number): Promise<number> {
		const recorded = await recordOutcomes(
			core.db,
			{ kind: 'user', id: 'risk', name: 'Risk', role: 'risk_manager' },
			{
				outcomes: ids.map((predictionId, i) => ({
					predictionId,
					defaulted: i >= first && i < first + BAD,
					observedAt: new Date(now).toISOString().slice(0, 10)
				})),
				source: 'api'
			},
			{ ip: null, requestId: `outcomes-${first}` }
		);
		expect(recorded.counts.rejected).toBe(0);
		return first / (N - BAD);
	}

	it('should raise a critical alert when the realised AUC falls below the holdout AUC minus the margin, once', async () => {
		const auc = await outcomes(36);
		expect(auc).toBeCloseTo(0.1, 12);
		const other = new AlertEngine({
			db: core.db,
			recorder: core.monitoring.requests,
			models: core.models,
			config: core.env,
			instance: 'instance-b',
			clock: () => now
		});
		const [mine, theirs] = await Promise.all([core.monitoring.alerts.evaluate(), other.evaluate()]);
		expect(ofRule([...mine, ...theirs], 'performance_drop').map((t) => [t.change, t.alert.key])).toEqual([
			['raised', key]
		]);
		const [alert] = await openAlerts(core, 'performance_drop');
		expect(alert).toMatchObject({ key, severity: 'critical' });
		expect(alert!.value).toBeCloseTo(auc, 12);
		expect(alert!.threshold).toBeCloseTo(holdout - 0.05, 12);
		expect(alert!.summary).toBe(
			`Performance of ${key} dropped: realised AUC over ${N} matured loans with an outcome is 0.100, against ${holdout.toFixed(3)} on the holdout set`
		);
		expect(alert!.details).toMatchObject({ kind: 'realised', n: N, holdoutAuc: holdout });
	});

	it('should publish the realised, estimated and holdout AUC on /metrics', async () => {
		const exposition = await scrapeMetrics();
		expect(exposition).toMatch(/# TYPE credible_model_auc gauge/);
		const auc = (kind: string) =>
			sample(exposition, 'credible_model_auc', { model: MODEL, version: VERSION, kind });
		expect(auc('realised')).toBeCloseTo(0.1, 9);
		expect(auc('holdout')).toBeCloseTo(holdout, 9);
		const estimated = auc('estimated')!;
		expect(estimated).toBeGreaterThan(0.5);
		expect(estimated).toBeLessThan(1);
	});

	it('should measure again only after ALERT_AUC_EVAL_MINUTES', async () => {
		await outcomes(360);
		now += 5 * MINUTE;
		expect(ofRule(await core.monitoring.alerts.evaluate(), 'performance_drop')).toEqual([]);
		expect((await openAlerts(core, 'performance_drop'))[0]?.value).toBeCloseTo(0.1, 12);
	});

	it('should keep it open while the AUC is inside the hysteresis band, and resolve it above', async () => {
		const band = await outcomes(257);
		expect(band).toBeLessThan(holdout - 0.03);
		expect(band).toBeGreaterThanOrEqual(holdout - 0.05);
		now += 15 * MINUTE;
		expect(ofRule(await core.monitoring.alerts.evaluate(), 'performance_drop')).toEqual([]);
		const [held] = await openAlerts(core, 'performance_drop');
		expect(held!.value).toBeCloseTo(band, 12);

		const good = await outcomes(360);
		expect(good).toBe(1);
		now += 15 * MINUTE;
		const transitions = ofRule(await core.monitoring.alerts.evaluate(), 'performance_drop');
		expect(transitions.map((t) => [t.change, t.alert.key])).toEqual([['resolved', key]]);
		expect(transitions[0]!.alert.details.resolution).toBe('realised AUC back to 1.000');
		expect(await openAlerts(core, 'performance_drop')).toEqual([]);
	});
});
