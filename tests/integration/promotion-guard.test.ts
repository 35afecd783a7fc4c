/**
 * The promotion guard on a real core: a promotion whose new champion scores a different
 * population (PSI against the previous champion's recent scores), answers slowly or fails is
 * rolled back by itself on the guard's next evaluation, with a `promotion_guard` alert and an
 * audit entry by the system naming the limit and the figures; a healthy promotion stays after the
 * guard period; and two instances on one PostgreSQL that see the same breach roll back once.
 */
import { and, eq, gt, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCore } from '$lib/server/core';
import type { Core } from '$lib/server/core-types';
import { openDatabase, type DatabaseHandle } from '$lib/server/db';
import { alerts, auditLog, models, modelVersions, predictions } from '$lib/server/db/schema';
import { parseEnv } from '$lib/server/env';
import { PromotionGuard } from '$lib/server/monitoring/promotion-guard';
import { emitScoring } from '$lib/server/observability/request-events';
import type { Caller } from '$lib/server/services/scoring';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { ManualTime } from '../helpers/manual-time';

const GUARD_ENV = {
	GUARD_PERIOD_SECONDS: '60',
	GUARD_EVAL_INTERVAL_SECONDS: '5',
	GUARD_MIN_SAMPLES: '30',
	GUARD_MAX_PSI: '0.25',
	GUARD_MAX_ERROR_RATE: '0.05',
	GUARD_MAX_P95_MS: '500'
};
const MODEL = 'lending-club';
const NEW = 'scorecard-1.0.0';
const OLD = 'xgb-1.0.0';

const xgbRows = goldenRows(`${MODEL}/${OLD}`);
const scorecardRows = goldenRows(`${MODEL}/${NEW}`);
/** The lowest-risk applicants by the old champion, and the highest-risk by the new one. */
const lowRisk = [...xgbRows].sort((a, b) => a.probability - b.probability).slice(0, 40);
const highRisk = [...scorecardRows].sort((a, b) => b.probability - a.probability).slice(0, 40);

const caller: Caller = {
	principal: { kind: 'service', id: 'guard-test' },
	requestId: 'guard-test',
	channel: 'trpc'
};
const admin = { kind: 'user' as const, id: 'admin-ada', name: 'Ada' };

async function score(core: Core, rows: readonly { raw: Record<string, unknown> }[]): Promise<void> {
	for (const row of rows) await core.scoring.score(caller, { model: MODEL, applicant: row.raw });
}

async function statesOf(core: Core): Promise<Record<string, string>> {
	const rows = await core.db
		.select({ version: modelVersions.version, state: modelVersions.state })
		.from(modelVersions)
		.where(eq(modelVersions.modelId, MODEL));
	return Object.fromEntries(rows.map((r) => [r.version, r.state]));
}

/** Audit entries after this id belong to the running test (the audit log is append-only). */
let auditAfter = 0;

async function guardRollbacks(core: Core) {
	return core.db
		.select()
		.from(auditLog)
		.where(
			and(
				eq(auditLog.action, 'model.rollback'),
				eq(auditLog.actorId, 'promotion-guard'),
				gt(auditLog.id, auditAfter)
			)
		);
}

async function guardAlerts(core: Core) {
	return core.db.select().from(alerts).where(eq(alerts.rule, 'promotion_guard'));
}

/** Back to the shipped champions, with no predictions, rollbacks or alerts. */
async function reset(core: Core, time: ManualTime): Promise<void> {
	await core.db.delete(predictions).where(sql`true`);
	await core.db.delete(alerts).where(sql`true`);
	await core.db
		.update(modelVersions)
		.set({ state: 'challenger' })
		.where(and(eq(modelVersions.modelId, MODEL), eq(modelVersions.version, NEW)));
	await core.db
		.update(modelVersions)
		.set({ state: 'champion' })
		.where(and(eq(modelVersions.modelId, MODEL), eq(modelVersions.version, OLD)));
	await core.db
		.update(models)
		.set({ generation: sql`${models.generation} + 1`, previousChampion: null })
		.where(eq(models.id, MODEL));
	await core.lifecycle.refresh();
	const [last] = await core.db.select({ id: sql<number>`max(${auditLog.id})` }).from(auditLog);
	auditAfter = Number(last?.id ?? 0);
	// The scoring calls of the previous test fall in an earlier second than this test's promotion.
	await new Promise((resolve) => setTimeout(resolve, 1_100));
	time.rewind(Date.now());
}

describe.each(testDatabaseKinds())('promotion guard on %s', (kind) => {
	let database: TestDatabase;
	let core: Core;
	let time: ManualTime;

	beforeAll(async () => {
		database = await openTestDatabase(kind);
		time = new ManualTime();
		core = await createCore(parseEnv(GUARD_ENV), database, {
			ownsDatabase: false,
			workers: 1,
			monitoring: { clock: () => time.now, timers: time, instance: 'guard-a' }
		});
	});
	afterAll(async () => {
		await core?.stop();
		await database?.dispose();
	});
	beforeEach(async () => {
		await reset(core, time);
	});

	const advance = (ms: number) => time.advance(ms, () => core.monitoring.guard.evaluate());

	async function promote(): Promise<void> {
		await core.lifecycle.promote(admin, { model: MODEL, version: NEW, reason: 'guard test' }, {});
		// Predictions and the promotion carry the system clock; the test clock starts there.
		time.now = Math.max(time.now, Date.now());
	}

	it('should roll back a promotion whose scores shift, within one evaluation, with an alert and an audit entry', async () => {
		await score(core, lowRisk);
		await promote();
		await score(core, highRisk);
		time.now = Math.max(time.now, Date.now());
		const breachAt = time.now;
		await advance(5_000);

		expect(time.now - breachAt).toBeLessThan(30_000);
		expect(core.models.resolve(MODEL).manifest.model.version).toBe(OLD);
		expect(await statesOf(core)).toMatchObject({ [OLD]: 'champion', [NEW]: 'retired' });

		const [entry, ...more] = await guardRollbacks(core);
		expect(more).toEqual([]);
		expect(entry).toMatchObject({ actorKind: 'system', targetId: MODEL });
		expect(entry!.details).toMatchObject({ version: OLD, from: NEW });
		expect(String(entry!.details.reason)).toMatch(
			/score PSI \d+\.\d{3} of lending-club@scorecard-1\.0\.0 \(40 scores since the promotion\) against lending-club@xgb-1\.0\.0 \(40 scores .*exceeds the limit of 0\.25 \(GUARD_MAX_PSI\)/
		);

		const [alert, ...others] = await guardAlerts(core);
		expect(others).toEqual([]);
		expect(alert).toMatchObject({
			key: `${MODEL}/${NEW}`,
			severity: 'critical',
			status: 'raised',
			threshold: 0.25
		});
		expect(alert!.value).toBeGreaterThan(0.25);
		expect(alert!.details).toMatchObject({ limit: 'score_psi', restored: OLD, samples: 40 });

		// Nothing left to guard: later evaluations do nothing more.
		await advance(10_000);
		expect(await guardRollbacks(core)).toHaveLength(1);
	});

	it.each([
		{
			limit: 'p95_latency',
			status: () => 200,
			durationMs: 900,
			reason: /P95 latency \d+ ms over 40 scoring calls of .*limit of 500 ms \(GUARD_MAX_P95_MS\)/
		},
		{
			limit: 'error_rate',
			status: (i: number) => (i % 4 === 0 ? 500 : 200),
			durationMs: 20,
			reason: /error rate 25\.0 ?% \(10 of 40 scoring calls answered 5xx\).*GUARD_MAX_ERROR_RATE/
		}
	])(
		'should roll back on a $limit breach of the new champion measured by the request recorder',
		async ({ limit, status, durationMs, reason }) => {
			await promote();
			for (let i = 0; i < 40; i++)
				emitScoring({ model: `${MODEL}@${NEW}`, status: status(i), durationMs, at: time.now });
			await advance(5_000);
			expect(core.models.resolve(MODEL).manifest.model.version).toBe(OLD);
			const [entry] = await guardRollbacks(core);
			expect(String(entry?.details.reason)).toMatch(reason);
			const [alert] = await guardAlerts(core);
			expect(alert?.details).toMatchObject({ limit, instance: 'guard-a', calls: 40 });
		}
	);

	it('should keep a healthy promotion after the guard period', async () => {
		await score(core, xgbRows.slice(0, 60));
		await promote();
		await score(core, scorecardRows.slice(0, 60));
		for (let i = 0; i < 40; i++)
			emitScoring({ model: `${MODEL}@${NEW}`, status: 200, durationMs: 15, at: time.now });
		time.now = Math.max(time.now, Date.now());
		const [measured] = await core.monitoring.guard.evaluate();
		expect(measured).toMatchObject({ breach: null, rolledBack: false });
		expect(measured?.promotion).toMatchObject({ model: MODEL, champion: NEW, previous: OLD });

		await advance(65_000);
		expect(await core.monitoring.guard.evaluate()).toEqual([]);
		expect(core.models.resolve(MODEL).manifest.model.version).toBe(NEW);
		expect(await guardRollbacks(core)).toEqual([]);
		expect(await guardAlerts(core)).toEqual([]);
	});

	it('should do nothing when GUARD_PERIOD_SECONDS is 0', async () => {
		expect(() => parseEnv({ GUARD_PERIOD_SECONDS: '-1' })).toThrow(/GUARD_PERIOD_SECONDS/);
		const off = new PromotionGuard({
			db: core.db,
			recorder: core.monitoring.requests,
			models: core.models,
			rollback: core.lifecycle,
			config: parseEnv({ ...GUARD_ENV, GUARD_PERIOD_SECONDS: '0' }),
			instance: 'guard-off',
			clock: () => time.now
		});
		expect(off.enabled).toBe(false);
		await promote();
		for (let i = 0; i < 40; i++)
			emitScoring({ model: `${MODEL}@${NEW}`, status: 500, durationMs: 900, at: time.now });
		expect(await off.evaluate()).toEqual([]);
		expect(core.models.resolve(MODEL).manifest.model.version).toBe(NEW);
		// The same breach with the guard on is rolled back.
		expect((await core.monitoring.guard.evaluate()).map((o) => o.rolledBack)).toEqual([true]);
	});
});

describe.runIf(testDatabaseKinds().includes('postgres'))('promotion guard on two instances', () => {
	let database: TestDatabase;
	let otherDb: DatabaseHandle;
	let first: Core;
	let second: Core;
	let time: ManualTime;

	beforeAll(async () => {
		database = await openTestDatabase('postgres');
		auditAfter = 0;
		time = new ManualTime();
		first = await createCore(parseEnv(GUARD_ENV), database, {
			ownsDatabase: false,
			workers: 1,
			monitoring: { clock: () => time.now, timers: time, instance: 'guard-a' }
		});
		otherDb = await openDatabase({
			url: database.url,
			migrationsDir: 'drizzle',
			migrate: false,
			poolSize: 2
		});
		second = await createCore(parseEnv(GUARD_ENV), otherDb, {
			ownsDatabase: false,
			workers: 1,
			monitoring: { clock: () => time.now, timers: time, instance: 'guard-b' }
		});
	});
	afterAll(async () => {
		await second?.stop();
		await first?.stop();
		await otherDb?.close();
		await database?.dispose();
	});

	it('should roll back exactly once, with one alert, when both instances see the breach', async () => {
		await score(first, lowRisk.slice(0, 20));
		await score(second, lowRisk.slice(20));
		await first.lifecycle.promote(admin, { model: MODEL, version: NEW, reason: 'two instances' }, {});
		await second.lifecycle.refresh();
		await score(first, highRisk.slice(0, 20));
		await score(second, highRisk.slice(20));
		time.now = Math.max(time.now, Date.now());

		const outcomes = await Promise.all([
			first.monitoring.guard.evaluate(),
			second.monitoring.guard.evaluate()
		]);
		const flat = outcomes.flat();
		// Usually both see the promotion and one's rollback is refused; on a slow machine one may
		// finish before the other reads the registry, which then finds nothing to guard.
		expect(flat.length).toBeGreaterThanOrEqual(1);
		expect(flat.every((o) => o.breach?.limit === 'score_psi')).toBe(true);
		expect(flat.filter((o) => o.rolledBack)).toHaveLength(1);
		expect(flat.filter((o) => o.alert !== null)).toHaveLength(1);

		await second.lifecycle.refresh();
		await first.lifecycle.refresh();
		expect(first.models.resolve(MODEL).manifest.model.version).toBe(OLD);
		expect(second.models.resolve(MODEL).manifest.model.version).toBe(OLD);
		expect(await guardRollbacks(first)).toHaveLength(1);
		expect(await guardAlerts(first)).toHaveLength(1);
		// A later evaluation on either instance finds nothing more to guard.
		expect(await first.monitoring.guard.evaluate()).toEqual([]);
		expect(await second.monitoring.guard.evaluate()).toEqual([]);
	});
});
