/**
 * The application core: the one set of long-lived resources (database, models, background
 * writers) shared by SvelteKit routes, the tRPC adapter and the custom server's fast paths.
 *
 * It lives on `globalThis` under a registered symbol because the custom server (`server.js`) and
 * the SvelteKit bundle are loaded separately but must share one instance in one process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InferencePool } from '$inference/pool/pool';
import { env, type Env } from './env';
import { openDatabase, type DatabaseHandle } from './db';
import { logger } from './logger';
import { poolEngine } from './services/inference-engine';
import { ModelRegistry } from './services/models.service';
import { ModelLifecycle } from './services/model-lifecycle.service';
import { PredictionWriter } from './services/prediction-writer';
import { driftCounting } from './services/drift-counting';
import { ScoringService } from './services/scoring';
import { CounterfactualService } from './services/counterfactual.service';
import { createApiAuth } from './auth/api-auth';
import { createCors } from './http/cors';
import { createApiRateLimiter } from './limits/rate-limit';
import { apiHandlerFor, restDependencies } from './http/api';
import { serveTrpcFast } from './http/trpc-fast';
import { createFastPath } from './http/node-adapter';
import { closeRedisClient, createRedisClient } from './limits/redis';
import { initMetrics, observeCore, recordShadow } from './observability/metrics';
import { metricsRequestHandler, startMetricsServer } from './observability/metrics-endpoint';
import { observeWriter } from './observability/persistence';
import { ShadowScorer } from './services/shadow-scoring';
import { createMonitoring, type MonitoringOptions } from './monitoring';
import { ReportService } from './services/reports/reports.service';
import { ReportScheduler } from './services/reports/scheduler';
import { BacktestRunner } from './services/backtest-runner';

import type { Core, ReadinessCheck } from './core-types';

const CORE_KEY = Symbol.for('credible.core');
/** Called by `server.js` on SIGTERM: adapter-node's handler does not emit `sveltekit:shutdown` there. */
const SHUTDOWN_KEY = Symbol.for('credible.shutdown');
/** Read by `server.js` for each request. */
const FAST_PATH_KEY = Symbol.for('credible.fastPath');
type CoreGlobal = typeof globalThis & {
	[CORE_KEY]?: Promise<Core>;
	[SHUTDOWN_KEY]?: () => Promise<void>;
	[FAST_PATH_KEY]?: ReturnType<typeof createFastPath>;
};

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
		copyPoolSize: config.WRITER_MAX_IN_FLIGHT,
		migrationsDir: path.resolve(config.MIGRATIONS_DIR),
		migrate: config.MIGRATE_ON_START
	});
	logger.info(
		{ database: database.kind, ms: Math.round(performance.now() - started) },
		'database ready, migrations applied'
	);
	const core = await createCore(config, database);
	installFastPath(core);
	if (config.METRICS_PORT) {
		const closeMetrics = await startMetricsServer({
			port: config.METRICS_PORT,
			host: config.HOST,
			token: config.METRICS_TOKEN
		});
		const stopCore = core.stop.bind(core);
		core.stop = async () => {
			await closeMetrics();
			await stopCore();
		};
	}
	return core;
}

/**
 * Lets `server.js` hand `/api/v1/*` to the REST layer before SvelteKit (see docs/architecture.md),
 * services' `/trpc` scoring calls to `trpc-fast.ts`, and `/metrics` to the Prometheus exposition
 * unless metrics have their own port.
 */
function installFastPath(core: Core): void {
	const deps = restDependencies(core);
	(globalThis as CoreGlobal)[FAST_PATH_KEY] = createFastPath({
		bodyLimitBytes: core.env.API_BODY_LIMIT_BYTES,
		handler: apiHandlerFor(core),
		metrics: core.env.METRICS_PORT ? undefined : metricsRequestHandler(core.env.METRICS_TOKEN),
		trpc: (call, request) => serveTrpcFast(core, deps, call, request)
	});
}

export interface CoreOptions {
	/** Close the database when the core stops (tests keep their own). Default true. */
	ownsDatabase?: boolean;
	/** Inference worker threads (overrides INFERENCE_WORKERS). */
	workers?: number;
	/** Clock and timers of the alert engine (tests drive them). */
	monitoring?: MonitoringOptions;
	/** How often to check the model registry for a change no notification announced. Default 2 s. */
	registryCheckIntervalMs?: number;
}

/** Loads the models, starts the inference pool and wires the services around an open database. */
export async function createCore(
	config: Env,
	database: DatabaseHandle,
	options: CoreOptions = {}
): Promise<Core> {
	const started = performance.now();
	const models = await ModelRegistry.load(path.resolve(config.MODELS_DIR));
	const pool = await InferencePool.start({
		bundles: models.all().map((version) => version.bundle),
		active: Object.fromEntries(
			models.modelIds().map((id) => [id, models.resolve(id).manifest.model.version])
		),
		size: options.workers ?? config.INFERENCE_WORKERS,
		maxQueue: config.INFERENCE_MAX_QUEUE_ROWS,
		taskTimeoutMs: config.INFERENCE_TASK_TIMEOUT_MS
	});
	logger.info(
		{ models: models.all().map((v) => v.key), ms: Math.round(performance.now() - started) },
		'models loaded into the inference pool'
	);
	// Uploaded bundles are unpacked per process: another instance (or a restart) fetches them again.
	const bundleDir = await mkdtemp(path.join(os.tmpdir(), 'credible-bundles-'));
	const lifecycle = new ModelLifecycle(database, models, {
		checkIntervalMs: options.registryCheckIntervalMs,
		pool,
		bundleDir
	});
	try {
		await lifecycle.start();
	} catch (error) {
		await pool.close();
		throw error;
	}
	const writer = new PredictionWriter(database.db, {
		maxDelayMs: config.WRITER_MAX_DELAY_MS,
		maxRows: config.WRITER_MAX_ROWS,
		maxInFlight: config.WRITER_MAX_IN_FLIGHT,
		timeoutMs: config.WRITER_TIMEOUT_MS,
		copyIn: database.copyIn,
		alongside: driftCounting(models)
	});
	initMetrics();
	const stopObserving = observeCore({ pool, writer, maxQueueRows: config.INFERENCE_MAX_QUEUE_ROWS });
	const shadow = new ShadowScorer(
		{
			db: database.db,
			models,
			engine: poolEngine(pool),
			queuedRows: () => pool.queuedRows(),
			record: recordShadow
		},
		{
			capacity: config.SHADOW_QUEUE_ROWS,
			batchRows: config.SHADOW_BATCH_ROWS,
			yieldAboveQueuedRows: config.SHADOW_YIELD_QUEUE_ROWS
		}
	);
	const scoring = new ScoringService(
		database.db,
		models,
		poolEngine(pool),
		shadow.wrap(observeWriter(writer))
	);
	// One Redis connection, when configured, shared by the rate limiters of every principal.
	const redis = config.REDIS_URL ? createRedisClient(config.REDIS_URL) : undefined;
	const auth = createApiAuth({ db: database.db, config, redis });
	const rateLimiter = createApiRateLimiter(config, redis);
	const readiness: ReadinessCheck[] = [
		{ name: 'database', check: () => database.ping() },
		{
			name: 'models',
			check: () => {
				const notReady = pool.models().filter((model) => model.state === 'loading');
				return notReady.length === 0
					? Promise.resolve()
					: Promise.reject(new Error(`loading: ${notReady.map((m) => m.key).join(', ')}`));
			}
		}
	];
	const monitoring = createMonitoring(config, database.db, models, lifecycle, options.monitoring);
	const reportService = new ReportService({
		db: database.db,
		models,
		config,
		instance: monitoring.alerts.instance,
		clock: options.monitoring?.clock
	});
	const reportScheduler = new ReportScheduler(reportService, {
		daily: config.REPORT_DAILY_CRON,
		weekly: config.REPORT_WEEKLY_CRON,
		timezone: config.REPORT_TIMEZONE
	});
	reportScheduler.start();
	const backtests = new BacktestRunner(
		{
			db: database.db,
			models,
			engine: poolEngine(pool),
			instance: monitoring.alerts.instance,
			queuedRows: () => pool.queuedRows(),
			clock: options.monitoring?.clock
		},
		{
			chunkRows: config.BACKTEST_CHUNK_ROWS,
			pollMs: config.BACKTEST_POLL_MS,
			staleMs: config.BACKTEST_STALE_MS,
			yieldAboveQueuedRows: config.BACKTEST_YIELD_QUEUE_ROWS
		}
	);
	backtests.start();
	return {
		env: config,
		database,
		db: database.db,
		models,
		lifecycle,
		pool,
		writer,
		scoring,
		shadow,
		counterfactuals: new CounterfactualService(poolEngine(pool)),
		auth,
		rateLimiter,
		cors: createCors(config.CORS_ORIGINS),
		startedAt: new Date(),
		readiness,
		monitoring,
		reports: { service: reportService, scheduler: reportScheduler },
		backtests,
		stop: async () => {
			await reportScheduler.stop();
			await backtests.stop();
			await monitoring.stop();
			await lifecycle.stop();
			await rm(bundleDir, { recursive: true, force: true });
			// Order matters: finish recording what was scored, then stop the workers, then the database.
			await writer.close();
			await shadow.close();
			stopObserving();
			await pool.close();
			await rateLimiter.close();
			if (redis) await closeRedisClient(redis);
			if (options.ownsDatabase !== false) await database.close();
		}
	};
}
