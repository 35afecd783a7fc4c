/**
 * Domain errors, each with a stable code, mapped to tRPC (and so HTTP) in one place:
 * `toTRPCError`. Services throw these; procedures never build HTTP statuses themselves.
 */
import { TRPCError } from '@trpc/server';
import type { FieldErrors } from '$lib/validation/field-errors';

export abstract class DomainError extends Error {
	abstract readonly code: string;
	constructor(message: string, options?: ErrorOptions) {
		super(message, options);
		this.name = new.target.name;
	}
}

/** Input broke a rule that a static schema cannot express (e.g. a model's own features). */
export class ValidationFailed extends DomainError {
	readonly code = 'VALIDATION_FAILED';
	constructor(
		readonly fieldErrors: FieldErrors,
		message = 'The request has invalid fields.'
	) {
		super(message);
	}
}

export class ModelNotFound extends DomainError {
	readonly code = 'MODEL_NOT_FOUND';
}

export class PredictionNotFound extends DomainError {
	readonly code = 'PREDICTION_NOT_FOUND';
}

/** The service cannot take this request now (overload, database down); the caller may retry. */
export class ServiceUnavailable extends DomainError {
	readonly code = 'SERVICE_UNAVAILABLE';
	constructor(
		message: string,
		readonly retryAfterSeconds: number,
		options?: ErrorOptions
	) {
		super(message, options);
	}
}

/** The caller is known but may not do this. */
export class Forbidden extends DomainError {
	readonly code = 'FORBIDDEN';
}

/** A record the caller named does not exist (or is not theirs to see). */
export class NotFound extends DomainError {
	readonly code = 'NOT_FOUND';
}

/** The request clashes with the current state (e.g. 2FA already enrolled). */
export class Conflict extends DomainError {
	readonly code = 'CONFLICT';
}

/** Short constructors, in the manner of piscina's `errors.ts`. */
export const domainErrors = {
	invalid: (fieldErrors: FieldErrors, message?: string) => new ValidationFailed(fieldErrors, message),
	forbidden: (message: string) => new Forbidden(message),
	notFound: (message: string) => new NotFound(message),
	conflict: (message: string) => new Conflict(message),
	unavailable: (message: string, retryAfterSeconds: number) =>
		new ServiceUnavailable(message, retryAfterSeconds)
};

/** True for PostgreSQL's unique_violation (23505), from postgres.js or PGlite. */
export function isUniqueViolation(error: unknown): boolean {
	for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
		if ((current as { code?: unknown }).code === '23505') return true;
	}
	return false;
}

/**
 * Errors that say the database cannot be reached or cannot take the statement now, rather than
 * that the statement is wrong: postgres.js's and Node's connection errors, PostgreSQL's connection
 * exceptions (class 08), a server shutting down or starting (57P01–57P03), too many connections
 * (53300), a statement cancelled by `statement_timeout` (57014) or a lock not granted in time
 * (55P03), and the prediction writer's own failure.
 */
const UNAVAILABLE_CODES = new Set([
	'CONNECTION_CLOSED',
	'CONNECTION_ENDED',
	'CONNECTION_DESTROYED',
	'CONNECT_TIMEOUT',
	'ECONNREFUSED',
	'ECONNRESET',
	'ETIMEDOUT',
	'EPIPE',
	'EHOSTUNREACH',
	'ENOTFOUND',
	'EAI_AGAIN',
	'57P01',
	'57P02',
	'57P03',
	'53300',
	'57014',
	'55P03',
	'PERSISTENCE_UNAVAILABLE'
]);

/** True when `error` (or an error it wraps) says the database is unavailable; see above. */
export function isDatabaseUnavailable(error: unknown): boolean {
	for (let current: unknown = error, depth = 0; current && depth < 8; depth++) {
		const code = (current as { code?: unknown }).code;
		if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
		current = (current as { cause?: unknown }).cause;
	}
	return false;
}

/** Retry hint for a database that is unavailable, in seconds. */
export const DATABASE_RETRY_SECONDS = 2;

/** `error` as a domain error: itself, a 503 when it says the database is unavailable, or undefined. */
export function asDomainError(error: unknown): DomainError | undefined {
	if (error instanceof DomainError) return error;
	if (isDatabaseUnavailable(error))
		return new ServiceUnavailable('The database is unavailable; retry shortly.', DATABASE_RETRY_SECONDS, {
			cause: error
		});
	return undefined;
}

const TRPC_CODES = {
	VALIDATION_FAILED: 'BAD_REQUEST',
	MODEL_NOT_FOUND: 'NOT_FOUND',
	PREDICTION_NOT_FOUND: 'NOT_FOUND',
	NOT_FOUND: 'NOT_FOUND',
	FORBIDDEN: 'FORBIDDEN',
	CONFLICT: 'CONFLICT',
	SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE'
} as const satisfies Record<string, TRPCError['code']>;

/** Maps a domain error to the TRPCError the adapters turn into an HTTP status. */
export function toTRPCError(error: DomainError): TRPCError {
	const code = (TRPC_CODES as Record<string, TRPCError['code']>)[error.code] ?? 'INTERNAL_SERVER_ERROR';
	return new TRPCError({ code, message: error.message, cause: error });
}

/** Seconds a client should wait before retrying, when the error says so. */
export function retryAfterOf(error: unknown): number | undefined {
	const cause = error instanceof TRPCError ? error.cause : error;
	return cause instanceof ServiceUnavailable ? cause.retryAfterSeconds : undefined;
}
