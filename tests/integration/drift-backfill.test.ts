/**
 * The drift counts backfill on a real database: predictions stored without being counted (as
 * before migration 0009) are counted from `predictions`, an hour counted in part ends up counted
 * once, a second run finds nothing, the last hour is left to the writer, and drift then reads the
 * backfilled hours. Also the `drift backfill` CLI on an embedded database.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, rowsOf, type Database } from '$lib/server/db';
import {
	driftCounts,
	OTHER_BIN,
	predictions,
	SCORE_FEATURE,
	type NewPrediction
} from '$lib/server/db/schema';
import { backfillDriftCounts, uncountedHours } from '$lib/server/monitoring/drift/backfill';
import { referenceBins } from '$lib/server/monitoring/drift/bins';
import { recountStatement } from '$lib/server/monitoring/drift/recount';
import { createCaller } from '$lib/server/trpc/root';
import { runCredible } from '../helpers/cli';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';

const golden = goldenRows('lending-club/xgb-1.0.0');
const model = 'lending-club';
const version = 'xgb-1.0.0';
/** Counted by the writer. */
const counted = '2026-03-02T10:00:00.000Z';
/** Half counted by the writer, half stored behind its back: the hour of an upgrade. */
const partial = '2026-03-02T11:00:00.000Z';
/** Two hours stored behind the writer's back, as before migration 0009. */
const uncounted = ['2026-03-01T08:00:00.000Z', '2026-03-01T09:00:00.000Z'];

/** Every (hour, feature, bin) count of drift_counts, summed over slots. */
async function storedCounts(db: Database): Promise<Map<string, number>> {
	const counts = new Map<string, number>();
	for (const c of await db.select().from(driftCounts)) {
		c.counts.forEach((n, position) => {
			if (Number(n) === 0) return;
			const key = `${c.hour.toISOString()} ${c.feature} ${position + OTHER_BIN}`;
			counts.set(key, (counts.get(key) ?? 0) + Number(n));
		});
	}
	return counts;
}

describe.each(testDatabaseKinds())('drift counts backfill on %s', (kind) => {
	let t: TestCore;
	let stored: NewPrediction[];
	const bins = () => referenceBins(t.core.models.resolve(model, version).manifest);

	async function scoreAt(at: string, applicants: Record<string, unknown>[]): Promise<void> {
		vi.useFakeTimers({ toFake: ['Date'], now: new Date(at).getTime() + 5 * 60_000 });
		try {
			await createCaller(t.context('scorer')).scoring.scoreBatch({ model, applicants });
		} finally {
			vi.useRealTimers();
		}
	}

	/** Copies of stored predictions inserted straight into `predictions`: nothing counts them. */
	async function insertBehindWriter(rows: readonly NewPrediction[], at: string): Promise<void> {
		await t.core.db
			.insert(predictions)
			.values(
				rows.map((row) => ({ ...row, id: randomUUID(), idempotencyKey: null, createdAt: new Date(at) }))
			);
	}

	async function recount(): Promise<Map<string, number>> {
		const counts = new Map<string, number>();
		const result = await t.core.db.execute(recountStatement(bins(), { id: model, version }));
		for (const row of rowsOf<{ hour: string | Date; feature: string; bin: number; n: number | string }>(
			result
		)) {
			counts.set(`${new Date(row.hour).toISOString()} ${row.feature} ${row.bin}`, Number(row.n));
		}
		return counts;
	}

	beforeAll(async () => {
		t = await startTestCore(kind);
		await scoreAt(
			counted,
			golden.map((g) => g.raw)
		);
		await scoreAt(
			partial,
			golden.slice(0, 100).map((g) => g.raw)
		);
		stored = await t.core.db.select().from(predictions).limit(150);
		await insertBehindWriter(stored.slice(0, 50), `${partial.slice(0, 13)}:40:00.000Z`);
		for (const hour of uncounted) await insertBehindWriter(stored, hour.replace(':00:00', ':20:00'));
		// Within the last hour: the writer's to count, never the backfill's.
		await insertBehindWriter(stored.slice(0, 10), new Date().toISOString());
	}, 120_000);
	afterAll(async () => {
		await t.dispose();
	});

	it('should find the hours the writer did not count, and only those', async () => {
		const hours = await uncountedHours(t.core.db, { id: model, version }, new Date());
		expect(hours).toEqual([
			{ hour: uncounted[0], predictions: 150, counted: 0 },
			{ hour: uncounted[1], predictions: 150, counted: 0 },
			{ hour: partial, predictions: 150, counted: 100 },
			expect.objectContaining({ counted: 0, predictions: 10 })
		]);
	});

	it('should count them as a recount of the stored predictions does, once, leaving the last hour alone', async () => {
		const target = { id: model, version, bins: bins() };
		const [dry] = await backfillDriftCounts(t.core.db, [target], { dryRun: true });
		expect(dry?.hours.map((h) => h.hour)).toEqual([...uncounted, partial]);
		expect(dry?.added).toBe(150 + 150 + 50);
		const before = await storedCounts(t.core.db);

		const [result] = await backfillDriftCounts(t.core.db, [target]);
		expect(result?.added).toBe(350);
		const after = await storedCounts(t.core.db);
		const recounts = await recount();
		const recent = (key: string) =>
			new Date(key.split(' ')[0] as string).getTime() > Date.now() - 2 * 3_600_000;
		// Every hour but the last equals the recount; the last is as the writer left it (uncounted).
		for (const [key, n] of recounts) if (!recent(key)) expect(after.get(key), key).toBe(n);
		for (const key of after.keys()) if (!recent(key)) expect(recounts.has(key), key).toBe(true);
		expect([...after.keys()].filter(recent)).toEqual([...before.keys()].filter(recent));
		// The hour the writer counted in full was not rewritten.
		for (const [key, n] of before) if (key.startsWith(counted)) expect(after.get(key)).toBe(n);

		const [again] = await backfillDriftCounts(t.core.db, [target]);
		expect(again?.hours).toEqual([]);
		expect(await storedCounts(t.core.db)).toEqual(after);
	});

	it('should let drift read the backfilled hours', async () => {
		const view = await createCaller(t.context('risk_manager')).drift.get({
			model,
			from: uncounted[0],
			to: partial.replace('T11', 'T12')
		});
		expect(view.count).toBe(150 + 150 + golden.length + 150);
		const score = await t.core.db
			.select()
			.from(driftCounts)
			.then((rows) => rows.filter((r) => r.feature === SCORE_FEATURE && r.hour.toISOString() === partial));
		expect(score.reduce((sum, r) => sum + r.counts.reduce((a, b) => a + Number(b), 0), 0)).toBe(150);
	});
});

describe('credible drift backfill', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'credible-drift-cli-'));
	const pgliteDir = path.join(dir, 'pglite');
	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	const credible = (...args: string[]) => runCredible(pgliteDir, ...args);

	it('should count predictions stored without counts, and refuse an unknown model', async () => {
		const database = await openDatabase({ pgliteDir, migrationsDir: path.resolve('drizzle'), migrate: true });
		try {
			const input = golden[0]?.raw as Record<string, number | string | null>;
			await database.db.insert(predictions).values(
				Array.from({ length: 3 }, () => ({
					id: randomUUID(),
					createdAt: new Date(uncounted[0] as string),
					modelId: model,
					modelVersion: version,
					requestId: randomUUID(),
					requester: 'cli-test',
					channel: 'api' as const,
					input,
					probability: 0.12,
					margin: -2,
					points: 600,
					band: 'B',
					decision: 'approve' as const,
					reasons: [],
					latencyMs: 1
				}))
			);
		} finally {
			await database.close();
		}
		const dry = await credible('drift', 'backfill', '--model', model, '--dry-run');
		expect(dry.stderr).toBe('');
		expect(dry.code).toBe(0);
		expect(dry.stdout).toMatch(/lending-club\s+xgb-1\.0\.0\s+1\s+3\s/);
		expect(dry.stdout).toContain('Dry run: 3 predictions would be counted');

		const run = await credible('drift', 'backfill');
		expect(run.code).toBe(0);
		expect(run.stdout).toContain('3 predictions counted.');
		expect((await credible('drift', 'backfill')).stdout).toContain('0 predictions counted.');

		const unknown = await credible('drift', 'backfill', '--model', 'nope');
		expect(unknown.code).toBe(2);
		expect(unknown.stderr).toContain('No version matches nope');
	}, 60_000);
});
