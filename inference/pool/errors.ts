/**
 * Errors of the worker pool, and the one place where errors cross the worker boundary: a worker
 * sends `{ name, message, code }` (never a stack) and the main thread rebuilds a named error.
 */
import { InferenceError, MissingCover, UnsupportedModel } from '../errors';
import type { SerializedError } from './messages';

/** The queue is full: fail fast so the API can answer 503 with `Retry-After`. */
export class Overloaded extends InferenceError {
	readonly code = 'OVERLOADED';
	constructor(
		/** Suggested wait before retrying, from the current queue and throughput. */
		readonly retryAfterSeconds: number,
		queuedRows: number
	) {
		super(`inference queue is full (${queuedRows} rows waiting); retry in ${retryAfterSeconds} s`);
	}
}

/** Rows timed out on two workers in turn (each was terminated and replaced). */
export class InferenceTimeout extends InferenceError {
	readonly code = 'INFERENCE_TIMEOUT';
}

/** The workers running these rows died twice (the rows were retried once on another worker). */
export class WorkerCrashed extends InferenceError {
	readonly code = 'WORKER_CRASHED';
}

/** No loaded model answers to this reference (`<id>` or `<id>@<version>`). */
export class ModelNotFound extends InferenceError {
	readonly code = 'MODEL_NOT_FOUND';
}

/** The model itself failed (load or predict); `remoteName` is the name of the worker's error. */
export class ModelError extends InferenceError {
	readonly code = 'MODEL_ERROR';
	constructor(
		message: string,
		readonly remoteName: string
	) {
		super(message);
	}
}

/** The worker entry file is missing: build it with `node scripts/build-worker.js`. */
export class WorkerNotFound extends InferenceError {
	readonly code = 'WORKER_NOT_FOUND';
}

/** The pool is closing or closed and takes no new work. */
export class PoolClosed extends InferenceError {
	readonly code = 'POOL_CLOSED';
}

/** Turns anything thrown in a worker into what may cross the boundary. */
export function serializeError(e: unknown): SerializedError {
	if (e instanceof Error) {
		const code = (e as { code?: unknown }).code;
		return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
	}
	return { name: 'Error', message: String(e) };
}

/**
 * Rebuilds a worker's error on the main thread. Library errors come back as their own class (a
 * `MissingCover` stays a `MissingCover`); anything else becomes a {@link ModelError}.
 */
export function deserializeError(e: SerializedError): InferenceError {
	switch (e.name) {
		case 'MissingCover':
			return new MissingCover(e.message);
		case 'UnsupportedModel':
			return new UnsupportedModel(e.message);
		case 'ModelNotFound':
			return new ModelNotFound(e.message);
		default:
			return new ModelError(`${e.name}: ${e.message}`, e.name);
	}
}
