/**
 * Backups of the database the server uses, and their restore. PostgreSQL: `pg_dump
 * --format=custom` (every schema, the migrations table included), restored by `pg_restore` in one
 * transaction. The embedded PGlite database: its data directory dump (a gzipped tar), loaded into
 * a new data directory. A restore goes into an empty database only, never over live data.
 */
import { spawn } from 'node:child_process';
import {
	existsSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	renameSync,
	rmSync,
	statSync,
	writeFileSync
} from 'node:fs';
import path from 'node:path';

export interface BackupTarget {
	/** postgres:// URL; when absent, the PGlite database in `pgliteDir`. */
	url?: string;
	pgliteDir: string;
}

export interface BackupReport {
	kind: 'postgres' | 'pglite';
	file: string;
	bytes: number;
}

/** What a custom-format pg_dump file and a gzip file start with. */
const PG_DUMP_MAGIC = Buffer.from('PGDMP');
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** A backup or restore that cannot be done as asked; the CLI prints the message. */
export class BackupError extends Error {
	override name = 'BackupError';
}

/** Writes a backup of the database to `file` (through `<file>.partial`, renamed once complete). */
export async function backupDatabase(target: BackupTarget, file: string): Promise<BackupReport> {
	const partial = `${file}.partial`;
	mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
	try {
		if (target.url) {
			const { args, env } = libpq(target.url);
			await run(
				'pg_dump',
				['--format=custom', '--no-owner', '--no-privileges', `--file=${partial}`, ...args],
				env
			);
		} else {
			const dir = path.resolve(target.pgliteDir);
			if (!hasPgliteDatabase(dir)) throw new BackupError(`no embedded database in ${dir} (PGLITE_DIR)`);
			const { PGlite } = await import('@electric-sql/pglite');
			const client = await PGlite.create(dir);
			try {
				const dump = await client.dumpDataDir('gzip');
				writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
			} finally {
				await client.close();
			}
		}
		renameSync(partial, file);
	} finally {
		rmSync(partial, { force: true });
	}
	return { kind: target.url ? 'postgres' : 'pglite', file, bytes: statSync(file).size };
}

/** Restores `file` (a backup of the same kind) into the target, which must hold no database yet. */
export async function restoreDatabase(target: BackupTarget, file: string): Promise<BackupReport> {
	if (!existsSync(file)) throw new BackupError(`${file} does not exist`);
	const head = readFileSync(file).subarray(0, 5);
	if (target.url) {
		if (!head.equals(PG_DUMP_MAGIC))
			throw new BackupError(`${file} is not a PostgreSQL backup (pg_dump --format=custom)`);
		await assertEmptyPostgres(target.url);
		const { args, env } = libpq(target.url);
		await run(
			'pg_restore',
			['--exit-on-error', '--single-transaction', '--no-owner', '--no-privileges', ...args, file],
			env
		);
	} else {
		if (!head.subarray(0, 2).equals(GZIP_MAGIC))
			throw new BackupError(`${file} is not an embedded-database backup (a PGlite data directory dump)`);
		const dir = path.resolve(target.pgliteDir);
		if (existsSync(dir) && readdirSync(dir).length > 0)
			throw new BackupError(`${dir} (PGLITE_DIR) is not empty: restore into a new directory`);
		mkdirSync(dir, { recursive: true });
		const { PGlite } = await import('@electric-sql/pglite');
		const client = await PGlite.create(dir, { loadDataDir: new Blob([readFileSync(file)]) });
		try {
			await client.query('select 1');
		} finally {
			await client.close();
		}
	}
	return { kind: target.url ? 'postgres' : 'pglite', file, bytes: statSync(file).size };
}

function hasPgliteDatabase(dir: string): boolean {
	return existsSync(path.join(dir, 'PG_VERSION'));
}

/** The connection of `url` for pg_dump and pg_restore, its password in the environment only. */
function libpq(url: string): { args: string[]; env: NodeJS.ProcessEnv } {
	const parsed = new URL(url);
	const password = decodeURIComponent(parsed.password);
	parsed.password = '';
	return {
		args: [`--dbname=${parsed.toString()}`],
		env: password ? { ...process.env, PGPASSWORD: password } : { ...process.env }
	};
}

async function assertEmptyPostgres(url: string): Promise<void> {
	const { default: postgres } = await import('postgres');
	const client = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
	try {
		const [row] = await client<{ tables: number }[]>`
			select count(*)::int as tables from pg_catalog.pg_tables
			where schemaname not in ('pg_catalog', 'information_schema')`;
		if ((row?.tables ?? 0) > 0)
			throw new BackupError(
				`the target database already has ${row?.tables} tables: restore into an empty database (createdb) and point DATABASE_URL at it`
			);
	} finally {
		await client.end({ timeout: 5 });
	}
}

/** Runs a PostgreSQL client program; rejects with its standard error when it fails. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
		let stderr = '';
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		child.on('error', (error: NodeJS.ErrnoException) =>
			reject(
				error.code === 'ENOENT'
					? new BackupError(`${command} is not installed (Debian package postgresql-client)`)
					: error
			)
		);
		child.on('close', (code) =>
			code === 0 ? resolve() : reject(new BackupError(`${command} failed (exit ${code}): ${stderr.trim()}`))
		);
	});
}
