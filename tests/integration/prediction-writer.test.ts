import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewPrediction } from '$lib/server/db/schema';
import { eq, sql } from 'drizzle-orm';
import { rowsOf } from '$lib/server/db';
import { predictions } from '$lib/server/db/schema';
import {
	countPredictions,
	PersistenceError,
	PredictionWriter,
	type WriterOptions
} from '$lib/server/services/prediction-writer';
import { encodeShap, storedShap } from '$lib/server/services/stored-shap';
import {
	openTestDatabase,
	testDatabaseKinds,
	type TestDatabase,
	type TestDatabaseKind
} from '../helpers/database';

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

/** Every database, and on PostgreSQL both ways in: INSERT alone, and COPY for rows without a key. */
const ways = testDatabaseKinds().flatMap((kind): [TestDatabaseKind, 'INSERT' | 'COPY'][] =>
	kind === 'postgres'
		? [
				[kind, 'INSERT'],
				[kind, 'COPY']
			]
		: [[kind, 'INSERT']]
);

describe.each(ways)('prediction writer on %s by %s', (kind, way) => {
	let database: TestDatabase;
	const open = (options: Partial<WriterOptions> = {}) =>
		new PredictionWriter(database.db, { ...options, copyIn: way === 'COPY' ? database.copyIn : undefined });

	beforeAll(async () => {
		database = await openTestDatabase(kind);
	});
	afterAll(async () => {
		await database.dispose();
	});

	it('should commit every row of many concurrent callers in far fewer statements', async () => {
		const writer = open({ maxRows: 200, maxDelayMs: 5 });
		const before = await countPredictions(database.db);
		const outcomes = await Promise.all(Array.from({ length: 1_000 }, () => writer.write(prediction())));
		expect(outcomes.every((outcome) => outcome === 'written')).toBe(true);
		expect(await countPredictions(database.db)).toBe(before + 1_000);
		expect(writer.stats().flushes).toBeLessThanOrEqual(20);
		expect(writer.stats().rowsWritten).toBe(1_000);
		await writer.close();
	});

	it("should answer a call of many rows once, with each row's outcome, in group commits of at most maxRows", async () => {
		const writer = open({ maxRows: 250 });
		const key = randomUUID();
		await writer.write(prediction({ idempotencyKey: key }));
		const rows = Array.from({ length: 600 }, () => prediction());
		rows[42] = prediction({ idempotencyKey: key });
		const outcomes = await writer.writeMany(rows);
		expect(outcomes).toHaveLength(600);
		expect(outcomes.filter((outcome) => outcome === 'duplicate')).toHaveLength(1);
		expect(outcomes[42]).toBe('duplicate');
		expect(await writer.writeMany([])).toEqual([]);
		await writer.close();
		// One flush for the first row, three for the 600 (250 + 250 + 100).
		expect(writer.stats()).toMatchObject({ flushes: 4, rowsWritten: 600 });
	});

	it('should report a repeated idempotency key as a duplicate without failing the other rows', async () => {
		const writer = open();
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
		const writer = open();
		const bad = prediction({ band: null as unknown as string });
		const results = await Promise.allSettled([writer.write(bad), writer.write(prediction())]);
		expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
		expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(PersistenceError);
		await writer.close();
	});

	// PGlite runs a statement on the JavaScript thread: no timer fires while it sleeps.
	it.skipIf(kind === 'pglite')(
		'should fail a call whose write is stuck with a PersistenceError at its deadline, and write nothing of it',
		async () => {
			// A statement that outlasts the deadline, in the flush's own transaction.
			const writer = open({ timeoutMs: 300, alongside: () => sql`select pg_sleep(3)` });
			const row = prediction({ idempotencyKey: randomUUID() });
			const started = performance.now();
			const error = await writer.write(row).catch((e: unknown) => e);
			const waited = performance.now() - started;
			expect(error).toBeInstanceOf(PersistenceError);
			expect(waited).toBeGreaterThanOrEqual(290);
			expect(waited).toBeLessThan(2_000);
			await writer.close();
			// statement_timeout cancelled the flush: its transaction, row and all, was rolled back.
			const found = rowsOf<{ n: number }>(
				await database.db.execute(sql`select count(*)::int as n from ${predictions} where id = ${row.id}`)
			);
			expect(found[0]?.n).toBe(0);
		}
	);

	// PGlite runs a statement on the JavaScript thread: no timer fires while it sleeps.
	it.skipIf(kind === 'pglite')(
		'should fail the callers queued behind a stuck flush at their deadline and write none of their rows',
		async () => {
			const writer = open({ timeoutMs: 200, maxInFlight: 1, alongside: () => sql`select pg_sleep(1)` });
			const rows = [prediction(), prediction(), prediction()];
			const first = writer.write(rows[0] as NewPrediction);
			// The others arrive while the first flush holds the only slot.
			await new Promise((resolve) => setTimeout(resolve, 20));
			const later = rows.slice(1).map((row) => writer.write(row));
			const results = await Promise.allSettled([first, ...later]);
			expect(results.every((result) => result.status === 'rejected')).toBe(true);
			await writer.close();
			const ids = rows.map((row) => row.id);
			const found = rowsOf<{ n: number }>(
				await database.db.execute(
					sql`select count(*)::int as n from ${predictions} where id in (${sql.join(ids, sql`, `)})`
				)
			);
			expect(found[0]?.n).toBe(0);
		}
	);

	it('should answer the rows of one flush by their own transaction: a refused row fails only its way in', async () => {
		const writer = open({ maxDelayMs: 50 });
		const refused = prediction({ band: null as unknown as string });
		const keyed = prediction({ idempotencyKey: randomUUID() });
		const [bad, good] = await Promise.allSettled([writer.write(refused), writer.write(keyed)]);
		expect(bad.status).toBe('rejected');
		// By COPY the refused row has a transaction of its own; by INSERT alone, one transaction holds both.
		expect(good.status).toBe(way === 'COPY' ? 'fulfilled' : 'rejected');
		await writer.close();
		expect(writer.stats().failures).toBe(1);
	});

	it('should write what is waiting when closed, then refuse new rows', async () => {
		const writer = open({ maxDelayMs: 1_000 });
		const before = await countPredictions(database.db);
		const pending = writer.write(prediction());
		await writer.close();
		await expect(pending).resolves.toBe('written');
		expect(await countPredictions(database.db)).toBe(before + 1);
		await expect(writer.write(prediction())).rejects.toBeInstanceOf(PersistenceError);
	});

	it('should store text and JSON with tabs, line breaks, backslashes and quotes exactly', async () => {
		const writer = open();
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
		const writer = open();
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
