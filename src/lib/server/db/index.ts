/**
 * The database client: PostgreSQL through postgres.js when a URL is given, otherwise the embedded
 * PGlite database. Both speak the same schema and the same committed migrations.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { CopyIn } from './copy-in';
import * as schema from './schema';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
	db: Database;
	kind: 'postgres' | 'pglite';
	/** COPY FROM STDIN, on PostgreSQL only (PGlite takes rows by INSERT). */
	copyIn?: CopyIn;
	/** Resolves when the database answers a trivial query; rejects otherwise. */
	ping(): Promise<void>;
	/**
	 * Calls `onMessage` with the payload of each NOTIFY on `channel` (postgres.js keeps a connection
	 * of its own for it and reconnects; PGlite delivers its own notifications). Resolves to a stop.
	 */
	listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
	close(): Promise<void>;
}

export interface DatabaseOptions {
	/** postgres:// URL; when absent, PGlite is used. */
	url?: string;
	/** PGlite data directory; `memory://` for an in-memory database. */
	pgliteDir?: string;
	poolSize?: number;
	/** Connections for COPY (PostgreSQL): the writer's flushes in flight. Default 4. */
	copyPoolSize?: number;
	migrationsDir: string;
	migrate: boolean;
}

const MIGRATION_LOCK_ID = 7_245_301;

/** Opens the database and, when asked, applies the committed migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
	return options.url ? openPostgres(options.url, options) : openPglite(options);
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<DatabaseHandle> {
	const { default: postgres } = await import('postgres');
	const { drizzle } = await import('drizzle-orm/postgres-js');
	if (options.migrate) {
		// One connection holds an advisory lock so that replicas starting together migrate once.
		const client = postgres(url, { max: 1, onnotice: () => {} });
		try {
			const { migrate } = await import('drizzle-orm/postgres-js/migrator');
			await client`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
			await migrate(drizzle(client), { migrationsFolder: options.migrationsDir });
			await client`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
		} finally {
			await client.end({ timeout: 5 });
		}
	}
	const client = postgres(url, {
		max: options.poolSize ?? 10,
		onnotice: () => {},
		// Fail fast when the database is down so callers can answer 503 instead of hanging.
		connect_timeout: 5
	});
	const db = drizzle(client, { schema }) as unknown as Database;
	const { openCopyIn } = await import('./copy-in');
	const copyIn = await openCopyIn(url, options.copyPoolSize ?? 4);
	return {
		db,
		kind: 'postgres',
		copyIn,
		ping: async () => {
			await client`select 1`;
		},
		listen: async (channel, onMessage) => {
			const subscription = await client.listen(channel, onMessage);
			return () => subscription.unlisten();
		},
		close: async () => {
			await Promise.all([client.end({ timeout: 5 }), copyIn.close()]);
		}
	};
}

async function openPglite(options: DatabaseOptions): Promise<DatabaseHandle> {
	const { PGlite } = await import('@electric-sql/pglite');
	const { drizzle } = await import('drizzle-orm/pglite');
	const dir = options.pgliteDir ?? 'memory://';
	if (!dir.startsWith('memory://')) mkdirSync(path.resolve(dir), { recursive: true });
	const client = await PGlite.create(dir.startsWith('memory://') ? undefined : path.resolve(dir));
	const db = drizzle(client, { schema });
	if (options.migrate) {
		const { migrate } = await import('drizzle-orm/pglite/migrator');
		await migrate(db, { migrationsFolder: options.migrationsDir });
	}
	return {
		db: db as unknown as Database,
		kind: 'pglite',
		ping: async () => {
			await db.execute(sql`select 1`);
		},
		listen: (channel, onMessage) => client.listen(channel, onMessage),
		close: () => client.close()
	};
}

/** The rows of `db.execute()`: PGlite returns `{ rows }`, postgres.js an array. */
export function rowsOf<T>(result: unknown): T[] {
	return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}

export { schema };
