/**
 * The application core: the one set of long-lived resources (database, models, background
 * writers) shared by SvelteKit routes, the tRPC adapter and the custom server's fast paths.
 *
 * It lives on `globalThis` under a registered symbol because the custom server (`server.js`) and
 * the SvelteKit bundle are loaded separately but must share one instance in one process.
 */
import path from 'node:path';
import { env, type Env } from './env';
import { openDatabase, type DatabaseHandle } from './db';
import { logger } from './logger';

export interface ReadinessCheck {
	name: string;
	check: () => Promise<void>;
}

export interface Core {
	env: Env;
	database: DatabaseHandle;
	startedAt: Date;
	/** Checks behind /readyz; each must resolve for the instance to take traffic. */
	readiness: ReadinessCheck[];
	stop(): Promise<void>;
}

const CORE_KEY = Symbol.for('credible.core');
/** Called by `server.js` on SIGTERM: adapter-node's handler does not emit `sveltekit:shutdown` there. */
const SHUTDOWN_KEY = Symbol.for('credible.shutdown');
type CoreGlobal = typeof globalThis & { [CORE_KEY]?: Promise<Core>; [SHUTDOWN_KEY]?: () => Promise<void> };

/** Starts the core once per process and returns it; later calls share the same instance. */
export function getCore(): Promise<Core> {
	const holder = globalThis as CoreGlobal;
	holder[SHUTDOWN_KEY] ??= stopCore;
	holder[CORE_KEY] ??= startCore(env());
	return holder[CORE_KEY];
}

/** Stops the core if it was started (drains writers, closes the pool and the database). */
export async function stopCore(): Promise<void> {
	const holder = globalThis as CoreGlobal;
	const pending = holder[CORE_KEY];
	if (!pending) return;
	delete holder[CORE_KEY];
	await (await pending).stop();
}

async function startCore(config: Env): Promise<Core> {
	const started = performance.now();
	const database = await openDatabase({
		url: config.DATABASE_URL,
		pgliteDir: config.PGLITE_DIR,
		poolSize: config.DATABASE_POOL_SIZE,
		migrationsDir: path.resolve(config.MIGRATIONS_DIR),
		migrate: config.MIGRATE_ON_START
	});
	logger.info(
		{ database: database.kind, ms: Math.round(performance.now() - started) },
		'database ready, migrations applied'
	);
	return assembleCore(config, database);
}

/** Wires the core around an open database (tests pass their own). */
export function assembleCore(config: Env, database: DatabaseHandle): Core {
	const readiness: ReadinessCheck[] = [{ name: 'database', check: () => database.ping() }];
	return {
		env: config,
		database,
		startedAt: new Date(),
		readiness,
		stop: async () => {
			await database.close();
		}
	};
}
