/**
 * How scoring fails: inference errors that mean "try again shortly" and a database that cannot
 * record become a 503 with a retry hint; a batch's later chunks wait for its earlier ones instead
 * of being refused halfway.
 */
import type { RawApplicant } from '$inference/manifest';
import { DomainError, ServiceUnavailable } from '../../errors';
import type { ModelVersion } from '../models.service';
import { PersistenceError } from '../prediction-writer';
import type { EngineRow, ScoringEngine } from './types';

/** Retry hint for a database that is down, in seconds. */
const DATABASE_RETRY_SECONDS = 2;

/**
 * Runs the model. `drained`, given for a chunk of a batch after the first, makes a full queue wait
 * for the chunk before it and ask once more: the batch was admitted with its first chunk, its own
 * earlier rows are what fill the queue, and it must not be refused halfway while they drain.
 */
export async function runModel(
	engine: ScoringEngine,
	version: ModelVersion,
	applicants: readonly RawApplicant[],
	drained?: Promise<unknown>
): Promise<EngineRow[]> {
	try {
		return await engine.run(version, applicants);
	} catch (error) {
		if (drained && (error as { code?: unknown } | null)?.code === 'OVERLOADED') {
			await drained.catch(() => undefined);
			return runModel(engine, version, applicants);
		}
		throw asUnavailable(error) ?? error;
	}
}

/** Runs a write; without the database there is no answer, only a retry hint (no unrecorded decisions). */
export async function recorded<T>(write: () => Promise<T>): Promise<T> {
	try {
		return await write();
	} catch (error) {
		if (error instanceof PersistenceError) {
			throw new ServiceUnavailable(error.message, DATABASE_RETRY_SECONDS, { cause: error });
		}
		throw error;
	}
}

/** Inference errors that mean "try again shortly" become a 503 with a retry hint. */
function asUnavailable(error: unknown): ServiceUnavailable | undefined {
	if (error instanceof DomainError) return undefined;
	const code = (error as { code?: unknown } | null)?.code;
	const retry = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
	switch (code) {
		case 'OVERLOADED':
			return new ServiceUnavailable(
				'The scoring service is at capacity; retry shortly.',
				typeof retry === 'number' ? retry : 1,
				{
					cause: error
				}
			);
		case 'INFERENCE_TIMEOUT':
		case 'WORKER_CRASHED':
		case 'POOL_CLOSED':
			return new ServiceUnavailable('The scoring service could not complete the request; retry shortly.', 1, {
				cause: error
			});
		default:
			return undefined;
	}
}
