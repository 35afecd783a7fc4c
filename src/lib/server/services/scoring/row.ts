/** One scored applicant turned into the row to record and the answer to give, from the same numbers. */
import { randomUUID } from 'node:crypto';
import type { RawApplicant } from '$inference/manifest';
import type { DecisionPolicy } from '$inference/decision/policy';
import type { NewPrediction } from '../../db/schema';
import type { ModelVersion } from '../models.service';
import { encodeShap } from '../stored-shap';
import { explanationOf, modelOf, requesterOf, shapByFeature } from './explanation';
import type { Caller, EngineRow, ScoreResult } from './types';

export interface RowOptions {
	idempotencyKey: string | null;
	applicationId?: string | null;
	explain: boolean;
	batchId?: string;
	/** When the decision is made (default: now). */
	now?: Date;
}

/** Applies the decision policy to a model output and builds both the prediction and the result. */
export function assembleRow(
	caller: Caller,
	version: ModelVersion,
	policy: DecisionPolicy,
	applicant: RawApplicant,
	row: EngineRow,
	started: number,
	options: RowOptions
): { prediction: NewPrediction; result: ScoreResult } {
	const { manifest } = version;
	const features = manifest.features;
	const decision = policy.decide(row.probability, row.shap, 0, (i) => {
		return applicant[features[i]?.name ?? ''] ?? null;
	});
	const id = randomUUID();
	const createdAt = options.now ?? new Date();
	const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
	const prediction: NewPrediction = {
		id,
		createdAt,
		modelId: manifest.model.id,
		modelVersion: manifest.model.version,
		requestId: caller.requestId,
		idempotencyKey: options.idempotencyKey,
		requester: requesterOf(caller),
		channel: caller.channel,
		batchId: options.batchId ?? null,
		applicationId: options.applicationId ?? null,
		input: applicant,
		probability: row.probability,
		margin: row.margin,
		points: decision.points,
		band: decision.band.name,
		decision: decision.decision,
		reasons: decision.reasons.map(({ feature, code, text, standing, contribution }) => ({
			feature,
			code,
			text,
			standing,
			contribution
		})),
		shapValues: encodeShap(row.shap),
		baseValue: row.baseValue,
		latencyMs
	};
	const result: ScoreResult = {
		predictionId: id,
		requestId: caller.requestId,
		model: modelOf(version),
		applicationId: options.applicationId ?? null,
		probability: row.probability,
		points: decision.points,
		band: decision.band,
		decision: decision.decision,
		reasons: decision.reasons,
		explanation: options.explain
			? explanationOf(version, applicant, shapByFeature(version, row.shap), row.baseValue, row.margin)
			: undefined,
		latencyMs,
		createdAt: isoString(createdAt),
		replayed: false
	};
	return { prediction, result };
}

let lastDate = Number.NaN;
let lastIso = '';

/** `toISOString`, remembered for the last instant: the rows of a batch chunk share theirs. */
function isoString(date: Date): string {
	const time = date.getTime();
	if (time !== lastDate) {
		lastIso = date.toISOString();
		lastDate = time;
	}
	return lastIso;
}
