/**
 * Test databases: PGlite always, and real PostgreSQL too when `TEST_DATABASE_URL` is set. Each
 * PostgreSQL test database is a fresh database on that server, dropped afterwards, so runs never
 * see each other (migrations qualify enum types with `public`, so a schema would not isolate).
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type DatabaseHandle } from '$lib/server/db';

export type TestDatabaseKind = 'pglite' | 'postgres';

export interface TestDatabase extends DatabaseHandle {
	/** The connection URL, on PostgreSQL. */
	url?: string;
	/** Drops what the test created and closes the connection. */
	dispose(): Promise<void>;
}

const migrationsDir = path.resolve('drizzle');

/** The database kinds the database tests run against on this machine. */
export function testDatabaseKinds(): TestDatabaseKind[] {
	return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/** Opens a migrated, empty database of the given kind. */
export async function openTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
	if (kind === 'pglite') {
		const handle = await openDatabase({ pgliteDir: 'memory://', migrationsDir, migrate: true });
		return { ...handle, dispose: () => handle.close() };
	}
	const empty = await createEmptyPostgresDatabase();
	const handle = await openDatabase({ url: empty.url, migrationsDir, migrate: true, poolSize: 4 });
	return {
		...handle,
		url: empty.url,
		dispose: async () => {
			await handle.close();
			await empty.drop();
		}
	};
}

/** A new, empty database on the TEST_DATABASE_URL server (no migrations), and how to drop it. */
export async function createEmptyPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
	const url = process.env.TEST_DATABASE_URL;
	if (!url) throw new Error('TEST_DATABASE_URL is not set');
	const name = `credible_test_${randomBytes(6).toString('hex')}`;
	const admin = postgres(url, { max: 1, onnotice: () => {} });
	await admin.unsafe(`create database "${name}"`);
	const target = new URL(url);
	target.pathname = `/${name}`;
	return {
		url: target.toString(),
		drop: async () => {
			await admin.unsafe(`drop database if exists "${name}" with (force)`);
			await admin.end({ timeout: 5 });
		}
	};
}
