/**
 * What the prediction writer runs alongside each flush: the upsert of the flush's rows into
 * `drift_counts`, binned on each model version's reference (docs/drift.md).
 */
import type { SQL } from 'drizzle-orm';
import type { NewPrediction } from '../db/schema';
import { referenceBins, tally, type FeatureBins } from '../monitoring/drift/bins';
import { upsertCounts } from '../monitoring/drift/counts';
import type { ModelRegistry } from './models.service';

/** The writer's `alongside` hook for the versions loaded in `models`. */
export function driftCounting(
	models: ModelRegistry
): (written: readonly NewPrediction[], slot: number) => SQL | undefined {
	const binsOf = binsByVersion(models);
	return (written, slot) => upsertCounts(tally(written, binsOf, new Date()), slot);
}

/**
 * Reference bins of a loaded version, computed once per version. Looked up on first use, not when
 * the writer starts: a bundle uploaded or promoted later (here or on another instance) is counted
 * from its first prediction.
 */
export function binsByVersion(
	models: ModelRegistry
): (modelId: string, modelVersion: string) => readonly FeatureBins[] | undefined {
	const cache = new Map<string, readonly FeatureBins[]>();
	return (modelId, modelVersion) => {
		const key = `${modelId}\u0000${modelVersion}`;
		let bins = cache.get(key);
		if (!bins && models.has(modelId, modelVersion)) {
			bins = referenceBins(models.resolve(modelId, modelVersion).manifest);
			cache.set(key, bins);
		}
		return bins;
	};
}
