/** The parts of an answer shared by fresh and stored results: the model's identity and the SHAP explanation. */
import type { ModelVersion } from '../models.service';
import type { Caller, ScoreResult } from './types';

/** How a caller is recorded as the prediction's requester (`kind:id`). */
export function requesterOf(caller: Pick<Caller, 'principal'>): string {
	return `${caller.principal.kind}:${caller.principal.id}`;
}

const models = new WeakMap<ModelVersion, { id: string; version: string }>();

/** A version's `{ id, version }`, one object per version that every result shares. */
export function modelOf(version: ModelVersion): { id: string; version: string } {
	let model = models.get(version);
	if (!model) {
		model = { id: version.manifest.model.id, version: version.manifest.model.version };
		models.set(version, model);
	}
	return model;
}

/** SHAP values in manifest order, keyed by feature name. */
export function shapByFeature(version: ModelVersion, values: Float64Array): Record<string, number> {
	const shap: Record<string, number> = {};
	version.manifest.features.forEach((feature, i) => (shap[feature.name] = values[i] ?? 0));
	return shap;
}

/** Every feature's value and contribution, largest contribution first. */
export function explanationOf(
	version: ModelVersion,
	applicant: Record<string, unknown>,
	shap: Record<string, number>,
	baseValue: number,
	margin: number
): NonNullable<ScoreResult['explanation']> {
	const contributions = version.manifest.features
		.map((feature) => ({
			feature: feature.name,
			label: feature.label,
			value: (applicant[feature.name] ?? null) as number | string | null,
			shap: shap[feature.name] ?? 0
		}))
		.sort((a, b) => Math.abs(b.shap) - Math.abs(a.shap));
	return { baseValue, margin, contributions };
}
