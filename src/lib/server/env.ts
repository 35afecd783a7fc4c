/**
 * Environment, validated once at start-up. A bad value stops the server with a message naming the
 * variable; nothing else in the server reads `process.env` directly.
 */
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
	LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
	/** Origins allowed to call the API from a browser (CORS), comma-separated. */
	CORS_ORIGINS: commaList.default([])
});

export type Env = z.infer<typeof envSchema>;

/** Thrown when the environment is invalid; its message names every bad variable. */
export class InvalidEnvironmentError extends Error {
	override name = 'InvalidEnvironmentError';
}

/** Parses an environment record; throws `InvalidEnvironmentError` naming each bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
	// Empty strings mean "unset", as in most deployment tools.
	const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
	const result = envSchema.safeParse(cleaned);
	if (result.success) return result.data;
	const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
	throw new InvalidEnvironmentError(`Invalid environment:\n${lines.join('\n')}`);
}

let cached: Env | undefined;

/** The process environment, parsed on first use and cached. */
export function env(): Env {
	cached ??= parseEnv(process.env);
	return cached;
}
