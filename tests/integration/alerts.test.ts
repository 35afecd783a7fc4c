/**
 * In-app alerts end to end on a real database: conditions are created the way production creates
 * them (request events on the bus, predictions through the real scoring path and writer), the
 * evaluator runs on its own interval timer driven by a test clock, and a local HTTP server plays
 * the webhook receiver.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, ne } from 'drizzle-orm';
import { TRPCError } from '@trpc/server';
import { createCore } from '$lib/server/core';
import type { Core } from '$lib/server/core-types';
import { parseEnv } from '$lib/server/env';
import { alerts, auditLog, type NewPrediction, type Role } from '$lib/server/db/schema';
import { AlertEngine } from '$lib/server/monitoring/alerts';
import { emitRequest } from '$lib/server/observability/request-events';
import { createCaller } from '$lib/server/trpc/root';
import type { Context } from '$lib/server/trpc/trpc';
import type { AlertWebhookPayload } from '$lib/server/monitoring/webhook';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { ManualTime } from '../helpers/manual-time';

const MINUTE = 60_000;
const INSTANCE = 'test-instance';

/** A webhook receiver that records every delivery. */
async function startReceiver(): Promise<{ server: Server; url: string; received: AlertWebhookPayload[] }> {
	const received: AlertWebhookPayload[] = [];
	const server = createServer((req, res) => {
		let body = '';
		req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
		req.on('end', () => {
			received.push(JSON.parse(body) as AlertWebhookPayload);
			res.writeHead(204).end();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return { server, url: `http://127.0.0.1:${port}/hooks/credible?token=not-for-logs`, received };
}

const golden = goldenRows('lending-club/xgb-1.0.0');

describe.each(testDatabaseKinds())('alerts on %s', (kind) => {
	let database: TestDatabase;
	let core: Core;
	let time: ManualTime;
	let receiver: Awaited<ReturnType<typeof startReceiver>>;

	beforeAll(async () => {
		receiver = await startReceiver();
		database = await openTestDatabase(kind);
		time = new ManualTime();
		core = await createCore(
			parseEnv({
				ALERT_WEBHOOK_URL: receiver.url,
				ALERT_EVAL_INTERVAL_SECONDS: '15',
				ALERT_MIN_REQUESTS: '20',
				ALERT_ERROR_RATE: '0.05',
				ALERT_NO_TRAFFIC_MINUTES: '15',
				ALERT_PSI_MIN_SAMPLES: '200',
				SLO_WINDOW_MINUTES: '5',
				// The promotion guard's ticks on the same test timers would add evaluations here.
				GUARD_PERIOD_SECONDS: '0'
			}),
			database,
			{
				ownsDatabase: false,
				workers: 1,
				monitoring: { clock: () => time.now, timers: time, instance: INSTANCE }
			}
		);
	});
	afterAll(async () => {
		await core?.stop();
		await database?.dispose();
		await new Promise((resolve) => receiver?.server.close(resolve));
	});

	const tick = () => core.monitoring.alerts.evaluate();
	const advance = (ms: number) => time.advance(ms, tick);

	function context(role: Role, id = `${role}-1`): Context {
		return {
			core,
			principal: { kind: role === 'scorer' ? 'service' : 'user', id, name: `${role} person`, role },
			requestId: `test-${randomUUID()}`,
			ip: '203.0.113.9',
			channel: 'trpc'
		};
	}

	async function openAlert(rule: string, key: string) {
		const [row] = await core.db
			.select()
			.from(alerts)
			.where(and(eq(alerts.rule, rule as 'error_spike'), eq(alerts.key, key), ne(alerts.status, 'resolved')));
		return row;
	}

	/** API requests finishing now, as the REST and tRPC layers report them on the bus. */
	function traffic(count: number, status: number, durationMs = 4) {
		for (let i = 0; i < count; i++)
			emitRequest({
				kind: i % 2 ? 'rest' : 'trpc',
				route: 'scoring.score',
				status,
				durationMs,
				at: time.now
			});
	}

	/** A prediction like the scoring service records, through the real group-commit writer. */
	function prediction(probability: number, createdAt: Date): NewPrediction {
		return {
			id: randomUUID(),
			createdAt,
			modelId: 'lending-club',
			modelVersion: 'xgb-1.0.0',
			requestId: `req-${randomUUID()}`,
			requester: 'service:test',
			channel: 'api',
			input: {},
			probability,
			margin: Math.log(probability / (1 - probability)),
			points: 600,
			band: 'B',
			decision: probability > 0.2 ? 'decline' : 'approve',
			reasons: [],
			latencyMs: 1.5
		};
	}

	it('should raise a no-traffic alert after real scoring stops, and resolve it when traffic resumes', async () => {
		const scorer = createCaller(context('scorer'));
		for (const row of golden.slice(0, 3))
			await scorer.scoring.score({ model: 'lending-club', applicant: row.raw });
		// The scoring service stamps predictions with the system clock; the test clock starts there.
		time.now = Math.max(time.now, Date.now());
		await advance(10 * MINUTE);
		expect(await openAlert('no_traffic', '')).toBeUndefined();
		await advance(6 * MINUTE);
		const alert = await openAlert('no_traffic', '');
		expect(alert).toMatchObject({ severity: 'warning', threshold: 15 });
		expect(alert!.value).toBeGreaterThanOrEqual(15);

		const summary = await createCaller(context('risk_manager')).monitoring.summary({ range: 'hour' });
		expect(summary.slos.find((slo) => slo.id === 'traffic')).toMatchObject({
			light: 'red',
			verdict: 'Stopped'
		});
		expect(summary.alerts.map((a) => a.rule)).toContain('no_traffic');

		await core.writer.write(prediction(0.03, new Date(time.now)));
		await advance(15_000);
		expect(await openAlert('no_traffic', '')).toBeUndefined();
		await core.monitoring.alerts.settled();
		expect(receiver.received.filter((p) => p.alert.rule === 'no_traffic').map((p) => p.event)).toEqual([
			'alert.raised',
			'alert.resolved'
		]);
	});

	it('should raise an error-spike alert on its interval, within a minute, once, and notify the webhook', async () => {
		traffic(60, 200);
		traffic(10, 503);
		const conditionAt = time.now;
		// Nothing is raised until the evaluator's timer fires: the interval drives it, not the test.
		expect(await openAlert('error_spike', INSTANCE)).toBeUndefined();

		await advance(MINUTE);
		const alert = await openAlert('error_spike', INSTANCE);
		expect(alert).toMatchObject({ severity: 'critical', status: 'raised', threshold: 0.05 });
		expect(alert?.value).toBeCloseTo(10 / 70, 6);
		expect(alert?.summary).toMatch(/14\.3 % of scoring requests failed/);
		expect(alert!.raisedAt.getTime() - conditionAt).toBeLessThanOrEqual(MINUTE);
		expect(alert!.raisedAt.getTime() - conditionAt).toBeLessThanOrEqual(core.monitoring.alerts.intervalMs);

		// Later evaluations keep the one alert open (deduplicated) and refresh it.
		await advance(MINUTE);
		const open = await core.db.select().from(alerts).where(eq(alerts.rule, 'error_spike'));
		expect(open).toHaveLength(1);
		expect(open[0]!.lastEvaluatedAt.getTime()).toBeGreaterThan(open[0]!.raisedAt.getTime());
		expect(open[0]!.lastEvaluatedAt.getTime()).toBeLessThanOrEqual(time.now);

		await core.monitoring.alerts.settled();
		const raised = receiver.received.filter(
			(p) => p.event === 'alert.raised' && p.alert.rule === 'error_spike'
		);
		expect(raised).toHaveLength(1);
		expect(raised[0]).toMatchObject({
			instance: INSTANCE,
			alert: { id: alert!.id, status: 'raised', severity: 'critical' }
		});
		expect((await openAlert('error_spike', INSTANCE))?.notifiedAt).toBeInstanceOf(Date);
	});

	it('should let a risk manager acknowledge an alert once, with an audit entry, and refuse a viewer', async () => {
		const alert = await openAlert('error_spike', INSTANCE);
		const viewer = createCaller(context('viewer'));
		await expect(viewer.monitoring.acknowledge({ id: alert!.id })).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});

		const caller = createCaller(context('risk_manager', 'u-rita'));
		const acknowledged = await caller.monitoring.acknowledge({ id: alert!.id });
		expect(acknowledged).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'risk_manager person' });
		const [entry] = await core.db.select().from(auditLog).where(eq(auditLog.action, 'alert.acknowledge'));
		expect(entry).toMatchObject({
			actorId: 'u-rita',
			targetType: 'alert',
			targetId: alert!.id,
			ip: '203.0.113.9'
		});

		await expect(caller.monitoring.acknowledge({ id: alert!.id })).rejects.toMatchObject({
			code: 'CONFLICT'
		});
		await expect(caller.monitoring.acknowledge({ id: randomUUID() })).rejects.toMatchObject({
			code: 'NOT_FOUND'
		});
		const bad = await caller.monitoring.acknowledge({ id: 'not-a-uuid' }).catch((error: unknown) => error);
		expect(bad).toBeInstanceOf(TRPCError);
		expect((bad as TRPCError).code).toBe('BAD_REQUEST');
	});

	it('should resolve the alert when the error rate falls back, and notify the webhook', async () => {
		// Healthy traffic goes on while the failures age out of the 5-minute window.
		for (let step = 0; step < 10; step++) {
			traffic(30, 200);
			await advance(30_000);
		}
		expect(await openAlert('error_spike', INSTANCE)).toBeUndefined();
		const [resolved] = await core.db.select().from(alerts).where(eq(alerts.rule, 'error_spike'));
		expect(resolved).toMatchObject({ status: 'resolved', acknowledgedBy: 'u-rita' });
		expect(resolved?.details.resolution).toMatch(/error rate back to/);

		await core.monitoring.alerts.settled();
		expect(receiver.received.filter((p) => p.alert.id === resolved!.id).map((p) => p.event)).toEqual([
			'alert.raised',
			'alert.resolved'
		]);
		// History: the monitoring router lists it as resolved.
		const history = await createCaller(context('admin')).monitoring.alerts({ status: 'resolved' });
		expect(history.map((a) => a.id)).toContain(resolved!.id);
	});

	it('should raise a latency alert when the P95 breaches the objective', async () => {
		traffic(90, 200, 5);
		traffic(10, 200, 900);
		await advance(15_000);
		expect(await openAlert('slo_latency', INSTANCE)).toBeUndefined();
		traffic(20, 200, 1200);
		await advance(15_000);
		const alert = await openAlert('slo_latency', INSTANCE);
		expect(alert).toMatchObject({ severity: 'warning', threshold: 200 });
		expect(alert!.value).toBeGreaterThan(800);
		await advance(6 * MINUTE);
		expect(await openAlert('slo_latency', INSTANCE)).toBeUndefined();
	});

	it('should raise a score-shift alert once across two instances, and resolve it when scores return to the reference', async () => {
		const key = 'lending-club/xgb-1.0.0';
		await core.writer.writeMany(Array.from({ length: 250 }, () => prediction(0.6, new Date(time.now))));
		// A second instance on the same database evaluates the same rules at the same moment.
		const other = new AlertEngine({
			db: core.db,
			recorder: core.monitoring.requests,
			models: core.models,
			config: core.env,
			instance: 'other-instance',
			clock: () => time.now
		});
		const [mine, theirs] = await Promise.all([core.monitoring.alerts.evaluate(), other.evaluate()]);
		const raised = [...mine, ...theirs].filter(
			(t) => t.change === 'raised' && t.alert.rule === 'score_shift'
		);
		expect(raised).toHaveLength(1);
		const alert = await openAlert('score_shift', key);
		expect(alert!.value).toBeGreaterThan(0.25);
		expect(alert!.details).toMatchObject({ model: 'lending-club', version: 'xgb-1.0.0' });
		expect(alert!.details.samples).toBeGreaterThanOrEqual(250);

		// Scores that follow the reference distribution dilute the shift below the threshold.
		const { edges, proportions } = core.models.resolve('lending-club').manifest.reference.score;
		const normal = proportions.flatMap((share, bin) =>
			Array.from({ length: Math.round(share * 2500) }, () =>
				prediction(((edges[bin] ?? 0) + (edges[bin + 1] ?? 1)) / 2, new Date(time.now))
			)
		);
		await core.writer.writeMany(normal);
		await advance(15_000);
		expect(await openAlert('score_shift', key)).toBeUndefined();
		const [resolved] = await core.db.select().from(alerts).where(eq(alerts.id, alert!.id));
		expect(resolved).toMatchObject({ status: 'resolved' });
		expect(resolved?.details.resolution).toMatch(/PSI back to/);
	});

	it('should resolve the alerts of an instance that stopped evaluating', async () => {
		const ghost = new AlertEngine({
			db: core.db,
			recorder: core.monitoring.requests,
			models: core.models,
			config: core.env,
			instance: 'ghost-instance',
			clock: () => time.now
		});
		const ghostCheck = ghost.checkErrors.bind(ghost);
		traffic(30, 500);
		expect(ghostCheck(time.now).firing).toBe(true);
		await ghost.evaluate();
		expect(await openAlert('error_spike', 'ghost-instance')).toBeDefined();
		// The ghost never evaluates again; this instance notices after a few intervals.
		await advance(3 * MINUTE);
		expect(await openAlert('error_spike', 'ghost-instance')).toBeUndefined();
		const [gone] = await core.db.select().from(alerts).where(eq(alerts.key, 'ghost-instance'));
		expect(gone?.details).toMatchObject({ resolution: 'instance stopped reporting' });
	});
});
