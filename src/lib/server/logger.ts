import pino, { type DestinationStream } from 'pino';
import { envSchema } from './env';
import { currentTraceId, requestContext } from './observability/request-context';
import { onRequest } from './observability/request-events';

/**
 * The level alone, not the whole environment: modules that log are imported by the build (route
 * analysis) too, where production-only secrets are rightly absent. `env()` still validates every
 * variable, LOG_LEVEL included, when the server starts.
 */
const level = envSchema.shape.LOG_LEVEL.catch('info').parse(process.env.LOG_LEVEL || undefined);

/**
 * Fields that never reach a log line, whatever a caller passes: credentials of every kind, and the
 * applicant's data (a prediction's input is personal data; the audit trail is the database).
 */
const REDACTED = [
	'password',
	'newPassword',
	'currentPassword',
	'secret',
	'clientSecret',
	'client_secret',
	'token',
	'accessToken',
	'access_token',
	'refreshToken',
	'totp',
	'authorization',
	'cookie',
	'applicant',
	'applicants',
	'input',
	'body'
];
const REDACT_PATHS = [
	...REDACTED,
	...REDACTED.map((key) => `*.${key}`),
	'headers.authorization',
	'headers.cookie',
	'*.headers.authorization',
	'*.headers.cookie',
	'req.headers.authorization',
	'req.headers.cookie'
];

interface SafeError {
	type: string;
	message: string;
	code?: unknown;
	stack?: string;
	cause?: SafeError;
}

/**
 * Errors are logged by name, message, code and stack only. The default serializer copies every
 * enumerable property, and a database driver's error carries the statement's parameters: for a
 * group commit, every applicant of the batch.
 */
function safeError(error: unknown, depth = 0): SafeError {
	if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
	const code = (error as { code?: unknown }).code;
	return {
		type: error.name,
		message: error.message,
		...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
		stack: error.stack,
		...(error.cause !== undefined && depth < 4 ? { cause: safeError(error.cause, depth + 1) } : {})
	};
}

/** Every line written while a request is served carries its request id and trace id. */
function requestFields(): { requestId?: string; traceId?: string } {
	const context = requestContext();
	if (context) return { requestId: context.requestId, traceId: context.traceId };
	const traceId = currentTraceId();
	return traceId ? { traceId } : {};
}

let sink: DestinationStream = pino.destination(1);

/** JSON logs on stdout: one line per event, with the request id and trace id of the request. */
export const logger = pino(
	{
		level,
		base: { service: 'credible' },
		timestamp: pino.stdTimeFunctions.isoTime,
		formatters: { level: (label) => ({ level: label }) },
		mixin: requestFields,
		serializers: { err: safeError, error: safeError },
		redact: { paths: REDACT_PATHS, censor: '[redacted]' }
	},
	{ write: (line: string) => sink.write(line) }
);

/**
 * Sends log lines to `write` instead of stdout until the returned function is called (tests read
 * what would have been logged).
 */
export function captureLogs(write: (line: string) => void): () => void {
	const previous = sink;
	sink = { write };
	return () => {
		sink = previous;
	};
}

// An access log line per finished request, at debug level (a no-op at the default level).
onRequest((event) => {
	if (!logger.isLevelEnabled('debug')) return;
	logger.debug(
		{
			kind: event.kind,
			route: event.route,
			status: event.status,
			ms: Math.round(event.durationMs * 1000) / 1000
		},
		'request'
	);
});

export type Logger = typeof logger;
