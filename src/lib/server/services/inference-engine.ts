/**
 * The scoring service's view of the inference pool: one applicant goes through `scoreOne`, so that
 * concurrent requests share micro-batches; several go through `scoreBatch`, which splits them over
 * the workers and returns SHAP column-wise without per-row objects.
 */
import type { InferencePool } from '$inference/pool/pool';
import type { RawApplicant } from '$inference/manifest';
import { inSpan } from '../observability/tracing';
import type { ModelVersion } from './models.service';
import type { EngineRow, ScoringEngine } from './scoring';

export function poolEngine(pool: InferencePool): ScoringEngine {
	return {
		run(version: ModelVersion, applicants: readonly RawApplicant[]): Promise<EngineRow[]> {
			// One span for the pool's whole answer (queue wait, batch run and SHAP happen inside it).
			return inSpan(
				'inference.run',
				{ 'credible.model': version.key, 'credible.rows': applicants.length },
				() => runOnPool(pool, version, applicants)
			);
		}
	};
}

async function runOnPool(
	pool: InferencePool,
	version: ModelVersion,
	applicants: readonly RawApplicant[]
): Promise<EngineRow[]> {
	const features = version.manifest.features;
	if (applicants.length === 1 && applicants[0]) {
		const score = await pool.scoreOne(version.key, applicants[0], { explain: true });
		const shap = new Float64Array(features.length);
		features.forEach((feature, i) => (shap[i] = score.shap?.[feature.name] ?? 0));
		return [{ probability: score.probability, margin: score.margin, baseValue: score.baseValue, shap }];
	}
	const batch = await pool.scoreBatch(version.key, applicants, { explain: true });
	const width = batch.features.length;
	const rows: EngineRow[] = new Array<EngineRow>(batch.rows);
	for (let r = 0; r < batch.rows; r++) {
		rows[r] = {
			probability: batch.probability[r] ?? Number.NaN,
			margin: batch.margin[r] ?? Number.NaN,
			baseValue: batch.baseValue,
			shap: batch.shap ? batch.shap.subarray(r * width, (r + 1) * width) : new Float64Array(width)
		};
	}
	return rows;
}
