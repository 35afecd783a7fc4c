import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, desc, eq, gte, sql } from 'drizzle-orm';
import { rowsOf } from '$lib/server/db';
import { predictions, users } from '$lib/server/db/schema';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';

describe.each(testDatabaseKinds())('database on %s', (kind) => {
	let database: TestDatabase;

	beforeAll(async () => {
		database = await openTestDatabase(kind);
	});
	afterAll(async () => {
		await database.dispose();
	});

	it('should answer a ping once migrations are applied', async () => {
		await expect(database.ping()).resolves.toBeUndefined();
	});

	it('should create every table of the schema', async () => {
		const result = await database.db.execute(
			sql`select table_name from information_schema.tables where table_schema = current_schema() order by 1`
		);
		const names = rowsOf<{ table_name: string }>(result).map((row) => row.table_name);
		expect(names).toEqual(expect.arrayContaining(['outcomes', 'predictions', 'sessions', 'users']));
	});

	it('should index predictions for time-range queries, and with nothing more (each index costs every write)', async () => {
		const result = await database.db.execute(
			sql`select indexname from pg_indexes where tablename = 'predictions' and schemaname = current_schema()`
		);
		const names = rowsOf<{ indexname: string }>(result).map((row) => row.indexname);
		expect(names.sort()).toEqual([
			'predictions_application_idx',
			'predictions_batch_idx',
			'predictions_created_at_idx',
			'predictions_idempotency_idx',
			'predictions_model_created_at_idx',
			'predictions_pkey',
			'predictions_requester_created_at_idx'
		]);
	});

	it('should index outcomes by prediction and version, and by model version and decision time', async () => {
		const result = await database.db.execute(
			sql`select indexname from pg_indexes where tablename = 'outcomes' and schemaname = current_schema()`
		);
		const names = rowsOf<{ indexname: string }>(result).map((row) => row.indexname);
		expect(names.sort()).toEqual([
			'outcomes_model_decided_idx',
			'outcomes_pkey',
			'outcomes_prediction_version_idx'
		]);
	});

	it('should store a prediction with its JSON input and reasons and find it by time range', async () => {
		const id = randomUUID();
		await database.db.insert(predictions).values({
			id,
			modelId: 'lending-club',
			modelVersion: 'xgb-1.0.0',
			requestId: 'req-1',
			requester: 'service:loan-origination',
			channel: 'api',
			input: { annual_inc: 52_000, term: 'term_36', emp_length: null },
			probability: 0.0712,
			margin: -2.57,
			points: 612,
			band: 'B',
			decision: 'approve',
			reasons: [{ feature: 'int_rate', code: 'LC03', text: 'Interest rate is high', contribution: 0.21 }],
			latencyMs: 1.25
		});
		const since = new Date(Date.now() - 60_000);
		const found = await database.db
			.select()
			.from(predictions)
			.where(and(eq(predictions.modelId, 'lending-club'), gte(predictions.createdAt, since)))
			.orderBy(desc(predictions.createdAt));
		expect(found).toHaveLength(1);
		expect(found[0]?.input).toEqual({ annual_inc: 52_000, term: 'term_36', emp_length: null });
		expect(found[0]?.reasons[0]?.code).toBe('LC03');
		expect(found[0]?.decision).toBe('approve');
	});

	it('should refuse a second prediction with the same requester and idempotency key', async () => {
		const base = {
			modelId: 'lending-club',
			modelVersion: 'xgb-1.0.0',
			requestId: 'req-2',
			idempotencyKey: 'key-1',
			requester: 'service:a',
			channel: 'api' as const,
			input: {},
			probability: 0.1,
			margin: -2.2,
			points: 600,
			band: 'C',
			decision: 'review' as const,
			reasons: [],
			latencyMs: 1
		};
		await database.db.insert(predictions).values({ ...base, id: randomUUID() });
		await expect(database.db.insert(predictions).values({ ...base, id: randomUUID() })).rejects.toThrow();
		await database.db.insert(predictions).values({ ...base, id: randomUUID(), requester: 'service:b' });
	});

	it('should refuse two users whose emails differ only by case', async () => {
		const user = { name: 'Ada', passwordHash: 'x', role: 'viewer' as const };
		await database.db.insert(users).values({ ...user, id: randomUUID(), email: 'ada@example.com' });
		await expect(
			database.db.insert(users).values({ ...user, id: randomUUID(), email: 'ADA@example.com' })
		).rejects.toThrow();
	});
});
