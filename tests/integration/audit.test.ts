import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { auditLog } from '$lib/server/db/schema';
import { ValidationFailed } from '$lib/server/errors';
import { listAudit, recordAudit, type AuditActor } from '$lib/server/services/audit.service';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';

const alice: AuditActor = { kind: 'user', id: 'u-alice', name: 'Alice' };
const bob: AuditActor = { kind: 'user', id: 'u-bob', name: 'Bob' };

describe.each(testDatabaseKinds())('audit log on %s', (kind) => {
	let database: TestDatabase;

	beforeAll(async () => {
		database = await openTestDatabase(kind);
		// 25 entries written in ONE transaction share one `at`: pagination must still not skip or repeat.
		await database.db.transaction(async (tx) => {
			for (let i = 0; i < 25; i++) {
				await recordAudit(tx, {
					actor: i % 2 === 0 ? alice : bob,
					action: i % 5 === 0 ? 'auth.login' : 'service_account.create',
					target: { type: 'service_account', id: `sa-${i % 3}` },
					ip: '203.0.113.1',
					requestId: `req-${i}`,
					details: { i }
				});
			}
		});
	});
	afterAll(async () => {
		await database.dispose();
	});

	async function readAll(query: Parameters<typeof listAudit>[1]) {
		const seen: number[] = [];
		let cursor: string | undefined;
		let pages = 0;
		do {
			const page = await listAudit(database.db, { ...query, cursor });
			seen.push(...page.entries.map((entry) => (entry.details as { i: number }).i));
			cursor = page.nextCursor ?? undefined;
			pages++;
		} while (cursor && pages < 100);
		return { seen, pages };
	}

	it('should page through every entry newest first, once each, even when they share a timestamp', async () => {
		const { seen, pages } = await readAll({ limit: 7 });
		expect(pages).toBe(4);
		expect(seen).toEqual([...Array(25).keys()].reverse());
	});

	it('should filter by actor, action and target', async () => {
		expect((await readAll({ actor: 'u-bob', limit: 4 })).seen).toEqual(
			[...Array(25).keys()].filter((i) => i % 2 === 1).reverse()
		);
		expect((await readAll({ action: 'auth.login', limit: 50 })).seen).toEqual([20, 15, 10, 5, 0]);
		expect((await readAll({ target: { type: 'service_account', id: 'sa-1' }, limit: 3 })).seen).toEqual(
			[...Array(25).keys()].filter((i) => i % 3 === 1).reverse()
		);
		expect((await readAll({ actor: 'u-alice', action: 'auth.login', limit: 50 })).seen).toEqual([20, 10, 0]);
	});

	it('should filter by time range (from inclusive, to exclusive)', async () => {
		const [first] = await database.db.select().from(auditLog).limit(1);
		const at = first!.at;
		expect(
			(await listAudit(database.db, { from: new Date(at.getTime() + 60_000), limit: 50 })).entries
		).toEqual([]);
		expect(
			(await listAudit(database.db, { to: new Date(at.getTime() - 60_000), limit: 50 })).entries
		).toEqual([]);
		const around = await listAudit(database.db, {
			from: new Date(at.getTime() - 60_000),
			to: new Date(at.getTime() + 60_000),
			limit: 50
		});
		expect(around.entries).toHaveLength(25);
		expect(around.nextCursor).toBeNull();
	});

	it('should refuse a forged cursor and bad filters with field errors', async () => {
		for (const query of [
			{ cursor: 'not-a-cursor', limit: 5 },
			{ cursor: Buffer.from('["yesterday", 1]').toString('base64url'), limit: 5 },
			{ limit: 0 },
			{ limit: 501 },
			{ from: 'not a date' }
		]) {
			await expect(listAudit(database.db, query as never)).rejects.toBeInstanceOf(ValidationFailed);
		}
		const error = (await listAudit(database.db, { cursor: 'x', limit: 5 }).catch(
			(e: unknown) => e
		)) as ValidationFailed;
		expect(Object.keys(error.fieldErrors)).toEqual(['cursor']);
	});

	it('should redact detail keys that look like secrets', async () => {
		await recordAudit(database.db, {
			actor: { kind: 'system', id: 'test', name: 'test' },
			action: 'test.redaction',
			details: { clientSecret: 's3cret', nested: { password: 'hunter2', kept: 1 }, reason: 'ok' }
		});
		const [entry] = await database.db.select().from(auditLog).where(eq(auditLog.action, 'test.redaction'));
		expect(entry?.details).toEqual({
			clientSecret: '[redacted]',
			nested: { password: '[redacted]', kept: 1 },
			reason: 'ok'
		});
	});

	it('should refuse to update or delete an entry: the log is append-only', async () => {
		await expect(database.db.execute(sql`update audit_log set action = 'tampered'`)).rejects.toThrow();
		await expect(database.db.execute(sql`delete from audit_log`)).rejects.toThrow();
		expect((await listAudit(database.db, { limit: 500 })).entries.length).toBeGreaterThanOrEqual(25);
	});

	it('should refuse an unknown actor kind', async () => {
		await expect(
			recordAudit(database.db, { actor: { kind: 'robot' as never, id: null, name: null }, action: 'x' })
		).rejects.toThrow();
	});
});
