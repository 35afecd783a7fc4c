import pino from 'pino';
import { env } from './env';

/** JSON logs on stdout; one line per event, with the request id bound by the caller. */
export const logger = pino({
	level: env().LOG_LEVEL,
	base: { service: 'credible' },
	timestamp: pino.stdTimeFunctions.isoTime,
	formatters: { level: (label) => ({ level: label }) },
	redact: {
		paths: ['password', '*.password', 'secret', '*.secret', 'authorization', '*.authorization', 'token'],
		censor: '[redacted]'
	}
});

export type Logger = typeof logger;
