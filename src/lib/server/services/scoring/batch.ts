/**
 * The batch pipeline: every row checked on its own, the valid ones scored in chunks that are
 * recorded (one group commit each) while later chunks are still in the workers.
 */
import { randomUUID } from 'node:crypto';
import type { DecisionPolicy } from '$inference/decision/policy';
import { toFieldErrors } from '$lib/validation/field-errors';
import type { Database } from '../../db';
import type { NewPrediction } from '../../db/schema';
import { inSpanSync } from '../../observability/tracing';
import type { ModelRegistry, ModelVersion } from '../models.service';
import { modelOf, requesterOf } from './explanation';
import { recorded, runModel } from './failures';
import { findStoredBatch, replayBatch, type IndexedApplicant } from './replay';
import { assembleRow } from './row';
import type { BatchRequest, BatchResult, BatchRow, Caller, PredictionSink, ScoringEngine } from './types';
import { parseApplicant } from './validation';

/**
 * Rows of a batch scored, assembled and handed to the writer together: the writer's default group
 * size, so that each chunk is one group commit, sent while later chunks are still in the workers.
 */
const BATCH_CHUNK_ROWS = 250;

export interface BatchDeps {
	db: Database;
	registry: ModelRegistry;
	engine: ScoringEngine;
	writer: PredictionSink;
	policy(version: ModelVersion): DecisionPolicy;
}

/** Scores many applicants; each row gets its result or its own field errors. */
export async function scoreBatch(
	deps: BatchDeps,
	caller: Caller,
	request: BatchRequest
): Promise<BatchResult> {
	const started = performance.now();
	const version = deps.registry.resolve(request.model, request.version);
	const policy = deps.policy(version);
	const explain = request.explain === true;
	let batchId: string = randomUUID();
	const valid: IndexedApplicant[] = [];
	const results: BatchRow[] = new Array<BatchRow>(request.applicants.length);
	inSpanSync(
		'scoring.validate',
		{ 'credible.model': version.key, 'credible.rows': request.applicants.length },
		() =>
			request.applicants.forEach((raw, index) => {
				const parsed = parseApplicant(version, raw);
				if (parsed.success) valid.push({ index, applicant: parsed.data });
				else results[index] = { index, ok: false, fieldErrors: toFieldErrors(parsed.error.issues) };
			})
	);
	let pending = valid;
	if (request.requestId) {
		const stored = await findStoredBatch(deps.db, requesterOf(caller), request.requestId);
		if (stored.length > 0) {
			// A retry: answer what was recorded, and score the rows an interrupted call did not record.
			pending = replayBatch(
				stored,
				version,
				explain,
				results,
				valid,
				request.applicationIds,
				request.version !== undefined
			);
			batchId = stored[0]?.batchId ?? batchId;
		}
	}
	// In chunks, so that the first rows are being written while the last are still scored.
	const chunks: Promise<void>[] = [];
	let failed = false;
	let previous: Promise<unknown> | undefined;
	for (let start = 0; start < pending.length && !failed; start += BATCH_CHUNK_ROWS) {
		// A turn of the event loop between chunks lets the pool send each to the workers on its
		// own, so that the first comes back (and goes to the database) while the next are scored.
		if (start > 0) {
			await new Promise((resolve) => setImmediate(resolve));
			if (failed) break;
		}
		const chunk = pending.slice(start, start + BATCH_CHUNK_ROWS);
		const scored = runModel(
			deps.engine,
			version,
			chunk.map((v) => v.applicant),
			previous
		);
		previous = scored;
		const done = scored.then((rows) => {
			// One moment for the rows of a chunk: they were scored together.
			const now = new Date();
			const records: NewPrediction[] = [];
			chunk.forEach(({ index, applicant }, i) => {
				const row = rows[i];
				if (!row) throw new Error('the engine returned fewer rows than it was given');
				const { prediction, result } = assembleRow(caller, version, policy, applicant, row, started, {
					idempotencyKey: request.requestId ? `${request.requestId}/${index}` : null,
					applicationId: request.applicationIds?.[index] ?? null,
					explain,
					batchId,
					now
				});
				records.push(prediction);
				results[index] = { index, ok: true, ...result };
			});
			return recorded(() => deps.writer.writeMany(records)).then(() => undefined);
		});
		// Handled now: a chunk may fail (overload, database down) before the next turn, long
		// before `Promise.all` below looks at it, and must not count as an unhandled rejection.
		// Once one has failed the batch is answered with that error: no further chunk is sent.
		done.catch(() => {
			failed = true;
		});
		chunks.push(done);
	}
	// The batch is answered only once every chunk is recorded; any failure fails it (a retry with
	// the same requestId then scores only the rows that were not recorded).
	await Promise.all(chunks);
	return { batchId, model: modelOf(version), summary: summarise(results), results };
}

function summarise(results: BatchRow[]): BatchResult['summary'] {
	const summary = { rows: results.length, scored: 0, rejected: 0, approve: 0, review: 0, decline: 0 };
	for (const row of results) {
		if (row.ok) {
			summary.scored += 1;
			summary[row.decision] += 1;
		} else {
			summary.rejected += 1;
		}
	}
	return summary;
}
