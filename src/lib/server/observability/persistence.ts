/**
 * Observation of the group-commit prediction writer. postgres.js and PGlite have no OpenTelemetry
 * instrumentation, so persistence gets Credible's own spans and metrics: a `predictions.record`
 * span around each request's wait for its commit, a detached `predictions.flush` span per INSERT,
 * the flush histograms, and the predictions counters once rows are committed.
 */
import type { NewPrediction } from '../db/schema';
import type { PredictionWriter, WriteOutcome } from '../services/prediction-writer';
import type { PredictionSink } from '../services/scoring';
import { recordFlush, recordPredictions, telemetry } from './metrics';
import { inSpan, recordDetachedSpan } from './tracing';

/** The writer as the scoring service sees it: same calls, observed. */
export function observeWriter(writer: PredictionWriter): PredictionSink {
	const tracing = telemetry()?.tracing ?? false;
	writer.onFlush = (rows, ms, ok) => {
		recordFlush(rows, ms, ok);
		recordDetachedSpan('predictions.flush', ms, { 'db.operation.batch.size': rows }, ok, tracing);
	};
	return {
		write: (row: NewPrediction) =>
			inSpan('predictions.record', { 'credible.rows': 1 }, async (): Promise<WriteOutcome> => {
				const outcome = await writer.write(row);
				if (outcome === 'written') recordPredictions([row]);
				return outcome;
			}),
		writeMany: (rows: readonly NewPrediction[]) =>
			inSpan('predictions.record', { 'credible.rows': rows.length }, async (): Promise<WriteOutcome[]> => {
				const outcomes = await writer.writeMany(rows);
				recordPredictions(rows.filter((_, i) => outcomes[i] === 'written'));
				return outcomes;
			})
	};
}
