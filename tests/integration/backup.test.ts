/**
 * `backup` and `restore` on each database kind: a backup restored into a fresh database holds the
 * same predictions and audit log (row counts and a checksum of every row), the same applied
 * migrations, and a restore refuses a database that is not empty or a file of the other kind.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/credible';
import { openDatabase, rowsOf, type Database, type DatabaseHandle } from '$lib/server/db';
import { backupDatabase, restoreDatabase, type BackupTarget } from '$lib/server/db/backup';
import { createEmptyPostgresDatabase, openTestDatabase, testDatabaseKinds } from '../helpers/database';

const migrationsDir = path.resolve('drizzle');
const dir = mkdtempSync(path.join(tmpdir(), 'credible-backup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Real-shaped rows: JSON inputs and reasons, binary SHAP values, audit details. */
async function seed(db: Database): Promise<void> {
	await db.execute(sql`
		insert into predictions (id, created_at, model_id, model_version, request_id, idempotency_key,
			requester, channel, batch_id, application_id, input, probability, margin, points, band,
			decision, reasons, shap_values, base_value, latency_ms)
		select gen_random_uuid(), timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute',
			'credit-default', '1.0.0', 'req-' || i, case when i % 3 = 0 then 'key-' || i end,
			'svc_test', (array['api', 'trpc', 'portal', 'batch'])[1 + i % 4]::channel, null,
			'app-' || i, json_build_object('age', 20 + i % 50, 'income', i * 1000.5, 'purpose', 'car'),
			i / 1000.0, ln((i / 1000.0) / (1 - i / 1000.0)), 600 - i % 100, 'B',
			(array['approve', 'review', 'decline'])[1 + i % 3]::decision,
			json_build_array(json_build_object('feature', 'age', 'contribution', i / 7.0)),
			decode(md5(i::text) || md5((i + 1)::text), 'hex'), -1.25, 1.5 + i % 7
		from generate_series(1, 400) as i`);
	await db.execute(sql`
		insert into audit_log (at, actor_kind, actor_id, actor_name, action, target_type, target_id, ip,
			request_id, details)
		select timestamptz '2026-01-02 00:00:00+00' + i * interval '1 second',
			(array['user', 'service', 'system'])[1 + i % 3], 'actor-' || i % 5, 'Actor ' || i % 5,
			'prediction.create', 'prediction', 'p-' || i, '10.0.0.' || i % 250, 'req-' || i,
			jsonb_build_object('row', i, 'note', repeat('x', i % 20))
		from generate_series(1, 250) as i`);
}

interface Fingerprint {
	predictions: number;
	predictionsMd5: string;
	auditLog: number;
	auditLogMd5: string;
	migrations: number;
}

/** Row counts and an md5 of every row's text, in key order, of predictions and audit_log. */
async function fingerprint(db: Database): Promise<Fingerprint> {
	const [row] = rowsOf<Fingerprint>(
		await db.execute(sql`
			select
				(select count(*)::int from predictions) as "predictions",
				(select md5(coalesce(string_agg(p::text, '|' order by p.id), '')) from predictions p) as "predictionsMd5",
				(select count(*)::int from audit_log) as "auditLog",
				(select md5(coalesce(string_agg(a::text, '|' order by a.id), '')) from audit_log a) as "auditLogMd5",
				(select count(*)::int from drizzle.__drizzle_migrations) as "migrations"`)
	);
	if (!row) throw new Error('no fingerprint');
	return row;
}

describe.each(testDatabaseKinds())('backup and restore on %s', (kind) => {
	it('should restore into a fresh database the same rows, checksums and migrations', async () => {
		const file = path.join(dir, `${kind}.backup`);
		let source: BackupTarget;
		let before: Fingerprint;
		let cleanup: () => Promise<void>;
		if (kind === 'pglite') {
			source = { pgliteDir: path.join(dir, 'pglite-source') };
			const handle = await openDatabase({ pgliteDir: source.pgliteDir, migrationsDir, migrate: true });
			await seed(handle.db);
			before = await fingerprint(handle.db);
			// The embedded database is single-process: closed before the backup opens it.
			await handle.close();
			cleanup = async () => {};
		} else {
			const database = await openTestDatabase('postgres');
			await seed(database.db);
			before = await fingerprint(database.db);
			source = { url: database.url, pgliteDir: 'unused' };
			cleanup = () => database.dispose();
		}
		expect(before.predictions).toBe(400);
		expect(before.auditLog).toBe(250);

		try {
			const backup = await backupDatabase(source, file);
			expect(backup.kind).toBe(kind);
			expect(backup.bytes).toBeGreaterThan(0);

			const fresh: { target: BackupTarget; drop: () => Promise<void> } =
				kind === 'pglite'
					? { target: { pgliteDir: path.join(dir, 'pglite-restored') }, drop: async () => {} }
					: await createEmptyPostgresDatabase().then((empty) => ({
							target: { url: empty.url, pgliteDir: 'unused' },
							drop: empty.drop
						}));
			let restored: DatabaseHandle | undefined;
			try {
				await restoreDatabase(fresh.target, file);
				// Opening with migrations on applies nothing: the restored database is up to date.
				restored = await openDatabase({
					url: fresh.target.url,
					pgliteDir: fresh.target.pgliteDir,
					migrationsDir,
					migrate: true
				});
				expect(await fingerprint(restored.db)).toEqual(before);
				await restored.close();
				restored = undefined;
				// A second restore into the now populated database is refused, and nothing changes.
				await expect(restoreDatabase(fresh.target, file)).rejects.toThrow(
					kind === 'pglite' ? /is not empty/ : /already has \d+ tables/
				);
			} finally {
				await restored?.close();
				await fresh.drop();
			}
		} finally {
			await cleanup();
		}
	});

	it('should refuse a file that is not a backup of this kind', async () => {
		const file = path.join(dir, `not-a-${kind}-backup`);
		writeFileSync(file, kind === 'pglite' ? 'PGDMP, but for PostgreSQL' : '\x1f\x8b not a pg_dump file');
		const target =
			kind === 'pglite'
				? { pgliteDir: path.join(dir, 'never-created') }
				: { url: process.env.TEST_DATABASE_URL, pgliteDir: 'unused' };
		await expect(restoreDatabase(target, file)).rejects.toThrow(
			kind === 'pglite' ? /not an embedded-database backup/ : /not a PostgreSQL backup/
		);
	});
});

describe('backup and restore commands', () => {
	it('should take exactly one file, answering a usage error otherwise', async () => {
		const out: string[] = [];
		const sink = { write: (text: string) => void out.push(text) };
		expect(await main(['backup'], sink, sink)).toBe(2);
		expect(await main(['restore', 'a', 'b'], sink, sink)).toBe(2);
		expect(out.join('')).toMatch(/backup takes one file[\s\S]*restore takes one file/);
	});
});
