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

/** Reference bins of every loaded version, computed once. */
export function binsByVersion(
	models: ModelRegistry
): (modelId: string, modelVersion: string) => readonly FeatureBins[] | undefined {
	const cache = new Map<string, readonly FeatureBins[]>();
	for (const { manifest } of models.all()) {
		cache.set(`${manifest.model.id}\u0000${manifest.model.version}`, referenceBins(manifest));
	}
	return (modelId, modelVersion) => cache.get(`${modelId}\u0000${modelVersion}`);
}
