import pino from 'pino';
import { envSchema } from './env';

/**
 * The level alone, not the whole environment: modules that log are imported by the build (route
 * analysis) too, where production-only secrets are rightly absent. `env()` still validates every
 * variable, LOG_LEVEL included, when the server starts.
 */
const level = envSchema.shape.LOG_LEVEL.catch('info').parse(process.env.LOG_LEVEL || undefined);

/** JSON logs on stdout; one line per event, with the request id bound by the caller. */
export const logger = pino({
	level,
	base: { service: 'credible' },
	timestamp: pino.stdTimeFunctions.isoTime,
	formatters: { level: (label) => ({ level: label }) },
	redact: {
		paths: ['password', '*.password', 'secret', '*.secret', 'authorization', '*.authorization', 'token'],
		censor: '[redacted]'
	}
});

export type Logger = typeof logger;
