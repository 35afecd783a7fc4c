/**
 * Environment, validated once at start-up. A bad value stops the server with a message naming the
 * variable; nothing else in the server reads `process.env` directly.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';

const booleanFlag = z
	.enum(['true', 'false', '1', '0', 'yes', 'no'])
	.transform((value) => value === 'true' || value === '1' || value === 'yes');

const commaList = z.string().transform((value) =>
	value
		.split(',')
		.map((item) => item.trim())
		.filter((item) => item.length > 0)
);

/** A cron pattern (croner's syntax), or `off` / an empty string for none: null. */
function cronSchedule(fallback: string) {
	return z
		.string()
		.default(fallback)
		.transform((value, ctx) => {
			const pattern = value.trim();
			if (pattern === '' || pattern.toLowerCase() === 'off') return null;
			try {
				new Cron(pattern, { paused: true }).stop();
			} catch (error) {
				ctx.addIssue({
					code: 'custom',
					message: `not a cron pattern (${error instanceof Error ? error.message : 'invalid'}); e.g. '0 6 * * *', or empty / off for none`
				});
				return z.NEVER;
			}
			return pattern;
		});
}

/** Variables where an empty string means "off" rather than "unset" (see `parseEnv`). */
const EMPTY_MEANS_OFF = new Set(['REPORT_DAILY_CRON', 'REPORT_WEEKLY_CRON']);

export const envSchema = z.object({
	NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
	HOST: z.string().min(1).default('0.0.0.0'),
	PORT: z.coerce.number().int().min(1).max(65_535).default(3000),
	/** PostgreSQL connection string; when absent the embedded PGlite database is used. */
	DATABASE_URL: z
		.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
		.optional(),
	/** Size of the postgres.js connection pool. */
	DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
	/** Where the embedded PGlite database keeps its files. */
	PGLITE_DIR: z.string().min(1).default('.data/pglite'),
	/** Folder of committed SQL migrations, applied at start-up. */
	MIGRATIONS_DIR: z.string().min(1).default('drizzle'),
	/** Apply migrations at start-up (turn off when a deploy job runs them). */
	MIGRATE_ON_START: booleanFlag.default(true),
	/** Folder of model bundles (`<model>/<version>/manifest.json`). */
	MODELS_DIR: z.string().min(1).default('models'),
	/** Inference worker threads; default: one per CPU core. */
	INFERENCE_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
	/** Rows that may wait for a worker before scoring answers 503 (overload). */
	INFERENCE_MAX_QUEUE_ROWS: z.coerce.number().int().min(64).max(1_000_000).default(16_384),
	/**
	 * Shadow scoring (docs/models.md): champion decisions waiting to be scored by the version in
	 * shadow (more are dropped and counted), the most sent to the pool at once, and the pool queue
	 * (rows waiting for a worker) above which shadow work waits, so that champion rows go first.
	 */
	SHADOW_QUEUE_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
	SHADOW_BATCH_ROWS: z.coerce.number().int().min(1).max(4_096).default(256),
	SHADOW_YIELD_QUEUE_ROWS: z.coerce.number().int().min(0).max(1_000_000).default(64),
	/**
	 * Backtests (docs/models.md): applications scored per chunk (progress is written after each),
	 * how often each instance looks for a queued backtest, after how long without progress a running
	 * one is taken to be abandoned and may be resumed elsewhere, and the pool queue above which the
	 * runner waits, so that live scoring goes first.
	 */
	BACKTEST_CHUNK_ROWS: z.coerce.number().int().min(1).max(4_096).default(500),
	BACKTEST_POLL_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
	BACKTEST_STALE_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000),
	BACKTEST_YIELD_QUEUE_ROWS: z.coerce.number().int().min(0).max(1_000_000).default(64),
	/** Longest one inference batch may run before its worker is replaced, in milliseconds. */
	INFERENCE_TASK_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
	/** PSI from which a feature's drift is `watch`, and from which it is `act` (docs/drift.md). */
	DRIFT_PSI_WATCH: z.coerce.number().positive().max(10).default(0.1),
	DRIFT_PSI_ACT: z.coerce.number().positive().max(10).default(0.25),
	/**
	 * Group commit of predictions: how long the first waiting decision may wait for company (ms),
	 * how many rows one group commit takes at most, and how many may run at once (on PostgreSQL each
	 * holds a connection of the COPY pool and, for rows with an idempotency key, one of
	 * DATABASE_POOL_SIZE: keep it below that). See docs/performance.md.
	 */
	WRITER_MAX_DELAY_MS: z.coerce.number().min(0).max(100).default(2),
	WRITER_MAX_ROWS: z.coerce.number().int().min(1).max(2_000).default(250),
	WRITER_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(4),
	/**
	 * How long a scoring call waits for its decision to be committed before it answers 503, in ms
	 * (also the `statement_timeout` of the writer's statements); 0 waits without a bound.
	 */
	WRITER_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
	LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
	/**
	 * Port of a listener serving only `/metrics`. When set, `/metrics` is no longer answered on the
	 * main port (so an ingress in front of the main port cannot expose it).
	 */
	METRICS_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
	/** When set, `/metrics` requires `Authorization: Bearer <METRICS_TOKEN>` (on either port). */
	METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
	/**
	 * Read by `otel/register.js` before the app loads; validated here so that a typo is named at
	 * start-up. `true` turns the OpenTelemetry SDK off (metrics are still served).
	 */
	OTEL_SDK_DISABLED: booleanFlag.default(false),
	/** OTLP/HTTP (protobuf) collector for traces; unset: spans are neither recorded nor exported. */
	OTEL_EXPORTER_OTLP_ENDPOINT: z
		.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
		.optional(),
	/** Origins allowed to call the API from a browser (CORS), comma-separated. */
	CORS_ORIGINS: commaList.default([]),
	/** Largest API request body, in bytes (a 10,000-row batch is about 6 MB); larger bodies get 413. */
	API_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(104_857_600).default(16_777_216),
	/**
	 * HS256 key of the API's access tokens, shared by every instance. Required in production; in
	 * development and tests a random per-process key is used (with a warning) when it is unset.
	 */
	JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
	/** Lifetime of an access token, in seconds. */
	JWT_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
	/**
	 * How long an instance trusts its cached "not revoked" status of a service account, in seconds:
	 * the upper bound on how long a revoked account's tokens keep working on an instance.
	 */
	AUTH_CACHE_SECONDS: z.coerce.number().min(0).max(300).default(5),
	/** Requests per second allowed to each principal (service account or person). */
	RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(1).max(1_000_000).default(2000),
	/** Window of the per-principal limit, in seconds: a principal may burst up to rate × window at once. */
	RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(1),
	/** redis:// URL; when set, rate limits are shared by every instance through Redis. */
	REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
	/**
	 * 32-byte key (64 hex characters, or base64) that encrypts TOTP secrets at rest (AES-256-GCM).
	 * Required in production; elsewhere a fixed development key is used (with a warning).
	 */
	TOTP_ENCRYPTION_KEY: z
		.string()
		.refine((value) => decodeKey(value) !== null, 'must be 32 bytes: 64 hex characters or base64')
		.optional(),
	/** Sign-in sessions expire after this many hours without activity (sliding). */
	SESSION_TTL_HOURS: z.coerce.number().min(0.25).max(720).default(8),
	/** …and after this many hours in any case, active or not. */
	SESSION_MAX_HOURS: z.coerce.number().min(1).max(8760).default(24),
	/** E-mail of the administrator created at first start when no user exists. */
	CREDIBLE_ADMIN_EMAIL: z.email().default('admin@credible.local'),
	/** Initial password of that administrator; when unset a random one is printed once. */
	CREDIBLE_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').max(256).optional(),
	/** Service-level objective: P95 latency of scoring requests (REST, tRPC, portal scoring), in milliseconds. */
	SLO_P95_MS: z.coerce.number().positive().max(600_000).default(200),
	/** Service-level objective: share of scoring requests answered with a 5xx (0.001 = 0.1 %). */
	SLO_ERROR_RATE: z.coerce.number().min(0).max(1).default(0.001),
	/** Window over which the SLOs and the request-based alert rules are measured, in minutes. */
	SLO_WINDOW_MINUTES: z.coerce.number().int().min(1).max(60).default(5),
	/** How often the alert rules are evaluated, in seconds (at most 30: an alert fires within a minute). */
	ALERT_EVAL_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(30).default(15),
	/** Months after its decision before a loan's outcome counts in realised performance. */
	PERFORMANCE_MATURITY_MONTHS: z.coerce.number().int().min(0).max(120).default(12),
	/** Fewest scoring requests in the SLO window before the latency and error rules fire or are judged. */
	ALERT_MIN_REQUESTS: z.coerce.number().int().min(1).max(1_000_000).default(20),
	/** Error spike: share of 5xx answers in the SLO window that raises a critical alert. */
	ALERT_ERROR_RATE: z.coerce.number().gt(0).max(1).default(0.05),
	/** No traffic: minutes without a recorded prediction before the alert fires. */
	ALERT_NO_TRAFFIC_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
	/**
	 * Hours (UTC, `HH-HH`, e.g. `08-20`) when traffic is always expected; outside them, silence
	 * alerts only after traffic was seen in the previous 24 hours.
	 */
	ALERT_TRAFFIC_HOURS: z
		.string()
		.regex(/^([01]?\d|2[0-4])-([01]?\d|2[0-4])$/, 'must be HH-HH in UTC, e.g. 08-20')
		.optional(),
	/** Score shift: population stability index (PSI) of recent probabilities that raises an alert. */
	ALERT_PSI_THRESHOLD: z.coerce.number().positive().max(10).default(0.25),
	/** Score shift: recent predictions needed (per champion model) before PSI is judged. */
	ALERT_PSI_MIN_SAMPLES: z.coerce.number().int().min(10).max(1_000_000).default(200),
	/** Score shift: how far back "recent" reaches, in minutes. */
	ALERT_PSI_WINDOW_MINUTES: z.coerce.number().int().min(5).max(10_080).default(60),
	/** Feature drift: hours of hourly drift counts each feature's PSI is measured over (up to now). */
	ALERT_DRIFT_WINDOW_HOURS: z.coerce.number().int().min(1).max(168).default(24),
	/** Feature drift: non-missing values of a feature needed in the window before its PSI is judged. */
	ALERT_DRIFT_MIN_VALUES: z.coerce.number().int().min(10).max(1_000_000).default(200),
	/** Feature drift: PSI at or above which the alert is raised; default DRIFT_PSI_ACT. */
	ALERT_DRIFT_RAISE_PSI: z.coerce.number().positive().max(10).optional(),
	/**
	 * Feature drift: PSI below which an open alert resolves (hysteresis: between the two it stays as
	 * it is); default DRIFT_PSI_WATCH. Must be below the raise threshold.
	 */
	ALERT_DRIFT_RESOLVE_PSI: z.coerce.number().positive().max(10).optional(),
	/** Performance drop: AUC below the manifest's holdout AUC minus this raises the alert. */
	ALERT_AUC_DROP: z.coerce.number().gt(0).max(0.5).default(0.05),
	/** Performance drop: an open alert resolves once the AUC is back within this of the holdout AUC. */
	ALERT_AUC_RESOLVE_DROP: z.coerce.number().min(0).max(0.5).default(0.03),
	/** Performance drop: days of decisions measured (matured ones for realised AUC, the last for estimated). */
	ALERT_AUC_WINDOW_DAYS: z.coerce.number().int().min(1).max(366).default(30),
	/** Performance drop: matured loans with an outcome needed before the realised AUC is judged. */
	ALERT_AUC_MIN_OUTCOMES: z.coerce.number().int().min(20).max(10_000_000).default(200),
	/** Performance drop: predictions needed before the estimated AUC is judged (when outcomes are too few). */
	ALERT_AUC_MIN_PREDICTIONS: z.coerce.number().int().min(20).max(10_000_000).default(500),
	/** Performance drop: minutes between two measurements (each reads the window's predictions). */
	ALERT_AUC_EVAL_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
	/**
	 * Promotion guard: seconds after a promotion during which the new champion is watched and rolled
	 * back by itself when it breaks a limit below; 0 turns the guard off. At most one hour (the
	 * per-version request buckets hold one hour).
	 */
	GUARD_PERIOD_SECONDS: z.coerce.number().int().min(0).max(3600).default(600),
	/** Promotion guard: how often a guarded promotion is measured, in seconds. */
	GUARD_EVAL_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(10).default(5),
	/** Promotion guard: share of the new champion's scoring calls answered with a 5xx that rolls back. */
	GUARD_MAX_ERROR_RATE: z.coerce.number().min(0).max(1).default(0.02),
	/** Promotion guard: P95 latency of the new champion's scoring calls, in ms, above which it rolls back. */
	GUARD_MAX_P95_MS: z.coerce.number().positive().max(600_000).default(500),
	/** Promotion guard: PSI of the new champion's scores against the previous champion's that rolls back. */
	GUARD_MAX_PSI: z.coerce.number().positive().max(10).default(0.25),
	/** Promotion guard: calls (per instance) or scores (all instances) needed before a limit is judged. */
	GUARD_MIN_SAMPLES: z.coerce.number().int().min(1).max(1_000_000).default(100),
	/** Promotion guard: minutes before the promotion whose scores of the previous champion are the baseline. */
	GUARD_BASELINE_MINUTES: z.coerce.number().int().min(1).max(10_080).default(60),
	/** http(s) URL that receives a JSON POST when an alert is raised or resolved; unset: none. */
	ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
	/** Longest a webhook delivery may take, in milliseconds. */
	ALERT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
	/**
	 * When the daily and weekly drift-and-performance reports are built (cron patterns read in
	 * REPORT_TIMEZONE); empty or `off`: not scheduled. See docs/reports.md.
	 */
	REPORT_DAILY_CRON: cronSchedule('0 6 * * *'),
	REPORT_WEEKLY_CRON: cronSchedule('0 6 * * 1'),
	/** IANA time zone the report schedules are read in. */
	REPORT_TIMEZONE: z
		.string()
		.default('UTC')
		.refine(isTimeZone, 'must be an IANA time zone, e.g. UTC or Europe/Paris'),
	/** http(s) URL that receives a JSON POST when a report is completed; unset: none. */
	REPORT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
	/** Longest a report webhook delivery may take, in milliseconds. */
	REPORT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
	/**
	 * Public URL of the portal (adapter-node reads it for form actions' CSRF check); the report
	 * webhook's links are absolute when it is set.
	 */
	ORIGIN: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional()
});

function isTimeZone(zone: string): boolean {
	try {
		new Intl.DateTimeFormat('en', { timeZone: zone });
		return true;
	} catch {
		return false;
	}
}

/** Decodes a 32-byte key given as 64 hex characters or base64; null when it is neither. */
export function decodeKey(value: string): Uint8Array | null {
	const bytes = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
	return bytes.length === 32 ? new Uint8Array(bytes) : null;
}

/**
 * Rules across variables. `when` makes them run even when another variable failed to parse (zod
 * skips refinements after such errors by default), so one message names every problem.
 */
const refinedEnvSchema = envSchema.superRefine(
	(value, ctx) => {
		if (value.NODE_ENV === 'production' && !value.JWT_SECRET) {
			ctx.addIssue({
				code: 'custom',
				path: ['JWT_SECRET'],
				message:
					'JWT_SECRET is required when NODE_ENV=production (at least 32 random characters, the same on every instance)'
			});
		}
		if (value.DRIFT_PSI_ACT <= value.DRIFT_PSI_WATCH) {
			ctx.addIssue({
				code: 'custom',
				path: ['DRIFT_PSI_ACT'],
				message: 'DRIFT_PSI_ACT must be greater than DRIFT_PSI_WATCH'
			});
		}
		const drift = driftAlertThresholds(value);
		// With neither set, the bands' own rule above already names the problem.
		const driftSet = value.ALERT_DRIFT_RAISE_PSI !== undefined || value.ALERT_DRIFT_RESOLVE_PSI !== undefined;
		if (driftSet && drift.resolve >= drift.raise) {
			ctx.addIssue({
				code: 'custom',
				path: [
					value.ALERT_DRIFT_RESOLVE_PSI === undefined ? 'ALERT_DRIFT_RAISE_PSI' : 'ALERT_DRIFT_RESOLVE_PSI'
				],
				message: `the resolve threshold (${drift.resolve}) must be below the raise threshold (${drift.raise}): ALERT_DRIFT_RESOLVE_PSI (default DRIFT_PSI_WATCH) < ALERT_DRIFT_RAISE_PSI (default DRIFT_PSI_ACT)`
			});
		}
		if (value.ALERT_AUC_RESOLVE_DROP >= value.ALERT_AUC_DROP) {
			ctx.addIssue({
				code: 'custom',
				path: ['ALERT_AUC_RESOLVE_DROP'],
				message:
					'ALERT_AUC_RESOLVE_DROP must be below ALERT_AUC_DROP (an alert resolves closer to the holdout AUC than it was raised)'
			});
		}
		if (value.NODE_ENV === 'production' && !value.TOTP_ENCRYPTION_KEY) {
			ctx.addIssue({
				code: 'custom',
				path: ['TOTP_ENCRYPTION_KEY'],
				message:
					'TOTP_ENCRYPTION_KEY is required when NODE_ENV=production (32 random bytes as 64 hex characters, e.g. `openssl rand -hex 32`, the same on every instance)'
			});
		}
	},
	{ when: (payload) => typeof payload.value === 'object' && payload.value !== null }
);

export type Env = z.infer<typeof envSchema>;

/** The PSI thresholds of the feature-drift alert: raised at or above `raise`, resolved below `resolve`. */
export function driftAlertThresholds(
	value: Pick<Env, 'DRIFT_PSI_WATCH' | 'DRIFT_PSI_ACT' | 'ALERT_DRIFT_RAISE_PSI' | 'ALERT_DRIFT_RESOLVE_PSI'>
): { raise: number; resolve: number } {
	return {
		raise: value.ALERT_DRIFT_RAISE_PSI ?? value.DRIFT_PSI_ACT,
		resolve: value.ALERT_DRIFT_RESOLVE_PSI ?? value.DRIFT_PSI_WATCH
	};
}

/** Thrown when the environment is invalid; its message names every bad variable. */
export class InvalidEnvironmentError extends Error {
	override name = 'InvalidEnvironmentError';
}

/** Parses an environment record; throws `InvalidEnvironmentError` naming each bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
	// Empty strings mean "unset", as in most deployment tools (except where they mean "off").
	const cleaned = Object.fromEntries(
		Object.entries(source).filter(([name, value]) => value !== '' || EMPTY_MEANS_OFF.has(name))
	);
	const result = refinedEnvSchema.safeParse(cleaned);
	if (result.success) return result.data;
	const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
	throw new InvalidEnvironmentError(`Invalid environment:\n${lines.join('\n')}`);
}

let cached: Env | undefined;

/** The process environment, parsed on first use and cached. */
export function env(): Env {
	cached ??= parseEnv(withEmbeddedSecrets(process.env));
	return cached;
}

const EMBEDDED_SECRETS = ['JWT_SECRET', 'TOTP_ENCRYPTION_KEY'] as const;

/**
 * The quick start (`npm start`: production mode on the embedded database, one instance) must work
 * with no configuration, yet production needs stable secrets. On the embedded database only, the
 * secrets that are not set are generated once and kept beside the database files, readable by the
 * owner alone. With `DATABASE_URL` (a real deployment, possibly many instances) they stay required
 * from the environment.
 */
export function withEmbeddedSecrets(
	source: Record<string, string | undefined>
): Record<string, string | undefined> {
	if (source.NODE_ENV !== 'production' || source.DATABASE_URL) return source;
	const missing = EMBEDDED_SECRETS.filter((name) => !source[name]);
	if (missing.length === 0) return source;
	const file = path.resolve(path.dirname(source.PGLITE_DIR || '.data/pglite'), 'secrets.json');
	let stored: Record<string, string> = {};
	if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
	let changed = false;
	for (const name of missing) {
		if (!stored[name]) {
			stored[name] = randomBytes(32).toString('hex');
			changed = true;
		}
	}
	if (changed) {
		mkdirSync(path.dirname(file), { recursive: true });
		writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
	}
	return { ...source, ...Object.fromEntries(missing.map((name) => [name, stored[name]])) };
}
