/**
 * `migrate`: applies the committed migrations and exits. A deploy runs it once (a Kubernetes Job
 * hook, a one-shot compose service) before the new release starts with `MIGRATE_ON_START=false`.
 */
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../lib/server/db/index';
import { UsageError } from '../context';
import type { CliCommand } from './types';

const usage = `Usage:
  npm run credible -- migrate
  node dist/credible.mjs migrate      (in the container image, where tsx is not installed)

Applies the migrations of MIGRATIONS_DIR (default drizzle/) to the database the server uses
(DATABASE_URL, or the embedded database in PGLITE_DIR), under the same advisory lock as a start-up
migration, then prints how many are applied. Safe to run again: applied migrations are skipped.`;

export const migrateCommand: CliCommand = {
	name: 'migrate',
	summary: 'apply the committed database migrations, then exit (for a deploy job)',
	usage,
	async run(args, context) {
		if (args.length > 0) throw new UsageError('migrate takes no arguments');
		// Opening the database applies the migrations (context.database() always migrates).
		const { db, kind } = await context.database();
		const [row] = rowsOf<{ applied: number }>(
			await db.execute(sql`select count(*)::int as applied from drizzle.__drizzle_migrations`)
		);
		context.stdout.write(`Migrations applied on ${kind}: ${row?.applied ?? 0}\n`);
		return 0;
	}
};
