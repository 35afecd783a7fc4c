/**
 * `backup <file>` and `restore <file>`: a backup of the database the server uses, and its restore
 * into an empty database. PostgreSQL through pg_dump/pg_restore (installed in the container image),
 * the embedded PGlite database through its data directory dump. docs/backups.md: the 3-2-1
 * strategy and the restore drill.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { backupDatabase, restoreDatabase } from '../../lib/server/db/backup';
import { UsageError } from '../context';
import type { CliCommand } from './types';

const where = `The database is the server's: DATABASE_URL (PostgreSQL), or the embedded database in
PGLITE_DIR. The embedded database is single-process: stop the server before either command.`;

const backupUsage = `Usage:
  npm run credible -- backup <file>
  node dist/credible.mjs backup <file>      (in the container image)

Writes a backup of the database to <file>: pg_dump's custom format for PostgreSQL (every schema,
the applied migrations included), a gzipped data directory for the embedded database. The file
appears only once complete. ${where}`;

const restoreUsage = `Usage:
  npm run credible -- restore <file>
  node dist/credible.mjs restore <file>     (in the container image)

Restores a backup made by \`backup\` into the database, which must be empty: a new PostgreSQL
database (createdb, then DATABASE_URL), or a PGLITE_DIR that does not exist yet. PostgreSQL
restores in one transaction: on any error nothing is kept. ${where}`;

function fileArgument(args: string[], command: string): string {
	const [file, ...rest] = args;
	if (!file || rest.length > 0 || file.startsWith('-')) throw new UsageError(`${command} takes one file`);
	return file;
}

const size = (bytes: number) =>
	bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export const backupCommand: CliCommand = {
	name: 'backup',
	summary: 'write a backup of the database to a file (pg_dump, or the embedded data directory)',
	usage: backupUsage,
	async run(args, context) {
		const file = fileArgument(args, 'backup');
		const config = context.env();
		const report = await backupDatabase({ url: config.DATABASE_URL, pgliteDir: config.PGLITE_DIR }, file);
		context.stdout.write(`Backup of ${report.kind} written to ${report.file} (${size(report.bytes)})\n`);
		// The keys generated for the embedded database live beside its directory, not in it.
		const keys = path.resolve(path.dirname(config.PGLITE_DIR), 'secrets.json');
		if (report.kind === 'pglite' && existsSync(keys))
			context.stdout.write(
				`Not in the backup: ${keys} (JWT_SECRET, TOTP_ENCRYPTION_KEY). Keep a copy with it, as a secret.\n`
			);
		return 0;
	}
};

export const restoreCommand: CliCommand = {
	name: 'restore',
	summary: 'restore a backup file into an empty database',
	usage: restoreUsage,
	async run(args, context) {
		const file = fileArgument(args, 'restore');
		const config = context.env();
		const report = await restoreDatabase({ url: config.DATABASE_URL, pgliteDir: config.PGLITE_DIR }, file);
		context.stdout.write(`Restored ${report.kind} from ${report.file} (${size(report.bytes)})\n`);
		return 0;
	}
};
