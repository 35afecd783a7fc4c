/** A recorded prediction read back as the answer it was: for replays and for explaining history. */
import type { Prediction } from '../../db/schema';
import type { ModelVersion } from '../models.service';
import { storedShap } from '../stored-shap';
import { explanationOf } from './explanation';
import type { ScoreResult } from './types';

export function storedResult(
	stored: Prediction,
	version: ModelVersion,
	explain: boolean,
	replayed: boolean
): ScoreResult {
	const band = version.manifest.policy.bands.find((b) => b.name === stored.band);
	const shap = explain ? storedShap(stored) : null;
	const valueOf = (feature: string) => stored.input[feature] ?? null;
	return {
		predictionId: stored.id,
		requestId: stored.requestId,
		model: { id: stored.modelId, version: stored.modelVersion },
		applicationId: stored.applicationId,
		probability: stored.probability,
		points: stored.points,
		band: { name: stored.band, label: band?.label ?? stored.band },
		decision: stored.decision,
		reasons: stored.reasons.map((reason) => ({
			...reason,
			standing: reason.standing ?? null,
			value: valueOf(reason.feature)
		})),
		explanation: shap
			? explanationOf(version, stored.input, shap, stored.baseValue ?? 0, stored.margin)
			: undefined,
		latencyMs: stored.latencyMs,
		createdAt: stored.createdAt.toISOString(),
		replayed
	};
}
