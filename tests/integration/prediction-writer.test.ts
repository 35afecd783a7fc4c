import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewPrediction } from '$lib/server/db/schema';
import { eq, sql } from 'drizzle-orm';
import { rowsOf } from '$lib/server/db';
import { predictions } from '$lib/server/db/schema';
import { countPredictions, PersistenceError, PredictionWriter } from '$lib/server/services/prediction-writer';
import { encodeShap, storedShap } from '$lib/server/services/stored-shap';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';

function prediction(overrides: Partial<NewPrediction> = {}): NewPrediction {
	return {
		id: randomUUID(),
		modelId: 'lending-club',
		modelVersion: 'xgb-1.0.0',
		requestId: randomUUID(),
		requester: 'service:test',
		channel: 'api',
		input: { annual_inc: 50_000 },
		probability: 0.05,
		margin: -2.94,
		points: 640,
		band: 'B',
		decision: 'approve',
		reasons: [],
		latencyMs: 1,
		...overrides
	};
}

describe.each(testDatabaseKinds())('prediction writer on %s', (kind) => {
	let database: TestDatabase;

	beforeAll(async () => {
		database = await openTestDatabase(kind);
	});
	afterAll(async () => {
		await database.dispose();
	});

	it('should commit every row of many concurrent callers in far fewer statements', async () => {
		const writer = new PredictionWriter(database.db, { maxRows: 200, maxDelayMs: 5 });
		const before = await countPredictions(database.db);
		const outcomes = await Promise.all(Array.from({ length: 1_000 }, () => writer.write(prediction())));
		expect(outcomes.every((outcome) => outcome === 'written')).toBe(true);
		expect(await countPredictions(database.db)).toBe(before + 1_000);
		expect(writer.stats().flushes).toBeLessThanOrEqual(20);
		expect(writer.stats().rowsWritten).toBe(1_000);
		await writer.close();
	});

	it('should report a repeated idempotency key as a duplicate without failing the other rows', async () => {
		const writer = new PredictionWriter(database.db);
		const key = randomUUID();
		const [first, second, other] = await Promise.all([
			writer.write(prediction({ idempotencyKey: key })),
			writer.write(prediction({ idempotencyKey: key })),
			writer.write(prediction())
		]);
		expect([first, second].sort()).toEqual(['duplicate', 'written']);
		expect(other).toBe('written');
		await writer.close();
	});

	it('should reject every waiting caller with a PersistenceError when the database refuses', async () => {
		const writer = new PredictionWriter(database.db);
		const bad = prediction({ band: null as unknown as string });
		const results = await Promise.allSettled([writer.write(bad), writer.write(prediction())]);
		expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
		expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(PersistenceError);
		await writer.close();
	});

	it('should write what is waiting when closed, then refuse new rows', async () => {
		const writer = new PredictionWriter(database.db, { maxDelayMs: 1_000 });
		const before = await countPredictions(database.db);
		const pending = writer.write(prediction());
		await writer.close();
		await expect(pending).resolves.toBe('written');
		expect(await countPredictions(database.db)).toBe(before + 1);
		await expect(writer.write(prediction())).rejects.toBeInstanceOf(PersistenceError);
	});

	it('should store text and JSON with tabs, line breaks, backslashes and quotes exactly', async () => {
		const writer = new PredictionWriter(database.db);
		const awkward = 'tab\there\nnew line\r\\N back\\slash "quoted" \u00e9\u{1F600}';
		const row = prediction({
			requestId: awkward,
			requester: `service:${awkward}`,
			input: { annual_inc: 50_000, purpose: awkward, missing: null },
			reasons: [{ feature: 'purpose', code: 'X1', text: awkward, contribution: 0.125 }],
			shap: { annual_inc: -0.5, purpose: 1e-12 },
			probability: 0.1 + 0.2
		});
		await expect(writer.write(row)).resolves.toBe('written');
		const [stored] = await database.db.select().from(predictions).where(eq(predictions.id, row.id));
		expect(stored).toMatchObject({
			requestId: awkward,
			requester: `service:${awkward}`,
			input: row.input,
			reasons: row.reasons,
			shap: row.shap,
			probability: 0.1 + 0.2
		});
		await writer.close();
	});

	it('should store SHAP values as exact float64 bytes that SQL reads back as float8[]', async () => {
		const writer = new PredictionWriter(database.db);
		const values = [0.1 + 0.2, -0.017936723731695588, 0, -0, 5e-324, -1e-12, 1.7976931348623157e308];
		const input = Object.fromEntries(values.map((_, i) => [`f${i}`, i]));
		const row = prediction({ input, shapValues: encodeShap(values) });
		await expect(writer.write(row)).resolves.toBe('written');
		const [stored] = await database.db.select().from(predictions).where(eq(predictions.id, row.id));
		if (!stored) throw new Error('not stored');
		expect(Object.entries(storedShap(stored) ?? {})).toStrictEqual(values.map((v, i) => [`f${i}`, v]));
		// Exact to the bit: compared as text, which tells -0 from 0 and shows every digit.
		const result = await database.db.execute(
			sql`select shap_values(${predictions.shapValues})::text as values from ${predictions} where ${predictions.id} = ${row.id}`
		);
		const [fromSql] = rowsOf<{ values: string }>(result);
		expect(fromSql?.values).toBe(`{${values.map((v) => (Object.is(v, -0) ? '-0' : String(v))).join(',')}}`);
		await writer.close();
	});
});
