/**
 * What a CLI command gets: output streams, the acting identity for the audit log, and the
 * server's own database, opened on first use with the committed migrations applied.
 *
 * Files the CLI reaches use relative imports: it runs under tsx, outside SvelteKit's `$lib` alias.
 */
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type DatabaseHandle } from '../lib/server/db/index';
import { env, type Env } from '../lib/server/env';
import type { SystemActor } from '../lib/server/services/service-accounts.service';

export interface Output {
	write(text: string): void;
}

export interface CliContext {
	stdout: Output;
	stderr: Output;
	/** The validated environment, the same variables the server reads. */
	env(): Env;
	/** The server's database; opened (and migrated) on first call, closed by the runner. */
	database(): Promise<DatabaseHandle>;
	/** Recorded as the actor of audited changes: `cli`, named after the operating-system user. */
	actor: SystemActor;
}

/** A mistake in how the command was called; the runner prints it with the usage and exits 2. */
export class UsageError extends Error {
	override name = 'UsageError';
}

/** Builds the context of one CLI run; `close()` releases the database if it was opened. */
export function createCliContext(stdout: Output, stderr: Output): CliContext & { close(): Promise<void> } {
	let opened: Promise<DatabaseHandle> | undefined;
	return {
		stdout,
		stderr,
		env,
		database() {
			const config = env();
			opened ??= openDatabase({
				url: config.DATABASE_URL,
				pgliteDir: config.PGLITE_DIR,
				poolSize: 2,
				migrationsDir: path.resolve(config.MIGRATIONS_DIR),
				migrate: true
			});
			return opened;
		},
		actor: { kind: 'system', id: 'cli', name: `cli:${osUser()}` },
		async close() {
			if (opened) await (await opened).close();
		}
	};
}

function osUser(): string {
	try {
		return os.userInfo().username;
	} catch {
		// Containers may run under a uid with no passwd entry.
		return process.env.USER ?? 'unknown';
	}
}
