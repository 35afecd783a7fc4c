/**
 * The model registry: every bundle found under `MODELS_DIR`, which version of each model is the
 * champion (served when a caller names no version) and which are challengers, as declared in
 * `models/registry.json`. Each version carries its applicant schema, generated from its manifest.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
	buildApplicantSchema,
	compileApplicantCheck,
	type ApplicantSchema
} from '$inference/bundle/applicant-schema';
import { discoverBundles, type LoadedBundle } from '$inference/bundle/load-bundle';
import type { Manifest, RawApplicant } from '$inference/manifest';
import { ModelNotFound } from '../errors';

export interface ModelVersion {
	bundle: LoadedBundle;
	manifest: Manifest;
	/** `<id>@<version>`, the inference pool's name for it. */
	key: string;
	status: 'champion' | 'challenger' | 'available';
	/** Strict schema for JSON callers. */
	applicantSchema: ApplicantSchema;
	/** The same rules compiled for the hot path: the applicant when valid, else null (then ask the schema why). */
	checkApplicant: (raw: unknown) => RawApplicant | null;
	/** Lenient schema for forms and CSV (text → numbers, blank → missing). */
	formSchema: ApplicantSchema;
}

const registryFileSchema = z.record(
	z.string(),
	z.object({ champion: z.string(), challengers: z.array(z.string()).default([]) })
);

export class ModelRegistry {
	readonly #models = new Map<string, Map<string, ModelVersion>>();
	readonly #champions = new Map<string, string>();

	private constructor(bundles: LoadedBundle[], declared: z.infer<typeof registryFileSchema>) {
		for (const bundle of bundles) {
			const { id, version } = bundle.manifest.model;
			const versions = this.#models.get(id) ?? new Map<string, ModelVersion>();
			const entry = declared[id];
			const status =
				entry?.champion === version
					? 'champion'
					: entry?.challengers.includes(version)
						? 'challenger'
						: 'available';
			versions.set(version, {
				bundle,
				manifest: bundle.manifest,
				key: bundle.key,
				status,
				applicantSchema: buildApplicantSchema(bundle.manifest),
				checkApplicant: compileApplicantCheck(bundle.manifest),
				formSchema: buildApplicantSchema(bundle.manifest, { coerce: true })
			});
			this.#models.set(id, versions);
		}
		for (const [id, versions] of this.#models) {
			const champion = declared[id]?.champion;
			if (champion && !versions.has(champion)) {
				throw new Error(
					`models/registry.json names ${id}@${champion} as champion, but no such bundle exists`
				);
			}
			// Without a declaration, the highest version is served.
			this.#champions.set(id, champion ?? [...versions.keys()].sort().at(-1) ?? '');
		}
	}

	/** Loads every bundle under `modelsDir` and the champion/challenger declarations beside them. */
	static async load(modelsDir: string): Promise<ModelRegistry> {
		const bundles = await discoverBundles(modelsDir);
		let declared: z.infer<typeof registryFileSchema> = {};
		try {
			declared = registryFileSchema.parse(
				JSON.parse(await readFile(path.join(modelsDir, 'registry.json'), 'utf8'))
			);
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				throw new Error(`models/registry.json is invalid: ${(error as Error).message}`);
			}
		}
		return new ModelRegistry(bundles, declared);
	}

	/** Every loaded version. */
	all(): ModelVersion[] {
		return [...this.#models.values()].flatMap((versions) => [...versions.values()]);
	}

	modelIds(): string[] {
		return [...this.#models.keys()].sort();
	}

	versionsOf(id: string): ModelVersion[] {
		return [...(this.#models.get(id)?.values() ?? [])];
	}

	/** The version a caller asked for, or the champion. */
	resolve(id: string, version?: string): ModelVersion {
		const versions = this.#models.get(id);
		if (!versions) throw new ModelNotFound(`No model "${id}". Known models: ${this.modelIds().join(', ')}.`);
		const wanted = version ?? this.#champions.get(id) ?? '';
		const found = versions.get(wanted);
		if (!found) {
			throw new ModelNotFound(
				`Model "${id}" has no version "${wanted}". Versions: ${[...versions.keys()].join(', ')}.`
			);
		}
		return found;
	}
}

/** A model family with its versions, for listings. */
export function describeModels(registry: ModelRegistry) {
	return registry.modelIds().map((id) => {
		const versions = registry.versionsOf(id);
		const champion = registry.resolve(id);
		return {
			id,
			name: champion.manifest.model.name,
			description: champion.manifest.model.description,
			champion: champion.manifest.model.version,
			versions: versions.map((v) => ({
				version: v.manifest.model.version,
				status: v.status,
				kind: v.manifest.model.kind,
				auc: v.manifest.metrics.holdout.auc
			}))
		};
	});
}

/** The public description of one version: what a caller needs to build a valid request. */
export function describeVersion(version: ModelVersion) {
	const { manifest } = version;
	return {
		id: manifest.model.id,
		version: manifest.model.version,
		name: manifest.model.name,
		description: manifest.model.description,
		kind: manifest.model.kind,
		status: version.status,
		features: manifest.features.map((f) => ({
			name: f.name,
			label: f.label,
			description: f.description,
			type: f.type,
			unit: f.unit,
			range: f.range,
			integer: f.integer,
			categories: f.categories,
			categoryLabels: f.categoryLabels,
			missingAllowed: f.missingAllowed
		})),
		target: manifest.target,
		metrics: manifest.metrics.holdout,
		policy: {
			cutoffs: manifest.policy.cutoffs,
			costMatrix: manifest.policy.costMatrix,
			scaling: manifest.policy.scaling,
			bands: manifest.policy.bands
		},
		training: {
			dataset: manifest.training.dataset,
			rows: manifest.training.rows,
			positiveRate: manifest.training.positiveRate
		},
		importance: manifest.explanation.meanAbsShap
	};
}
