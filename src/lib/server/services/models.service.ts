/**
 * The running model registry: every bundle found under `MODELS_DIR` and the state of each version
 * — which one is the champion (served when a caller names no version). At start-up the states come
 * from `models/registry.json`; once the database registry is seeded, `apply` takes its states
 * (see `model-registry.service.ts` and `model-lifecycle.service.ts`). Each version carries its
 * applicant schema, generated from its manifest.
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
import type { ModelState } from '../db/schema';
import { ModelNotFound } from '../errors';
import { logger } from '../logger';

export interface ModelVersion {
	bundle: LoadedBundle;
	manifest: Manifest;
	/** `<id>@<version>`, the inference pool's name for it. */
	key: string;
	/** Changes at run time when the database registry says so (`ModelRegistry.apply`). */
	status: ModelState;
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
	readonly #generations = new Map<string, number>();
	readonly #previous = new Map<string, string | null>();

	private constructor(bundles: LoadedBundle[], declared: z.infer<typeof registryFileSchema>) {
		for (const bundle of bundles) {
			const { id, version } = bundle.manifest.model;
			const versions = this.#models.get(id) ?? new Map<string, ModelVersion>();
			const entry = declared[id];
			const status: ModelState =
				entry?.champion === version
					? 'champion'
					: entry?.challengers.includes(version)
						? 'challenger'
						: 'registered';
			versions.set(version, modelVersionOf(bundle, status));
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
			const served = champion ?? [...versions.keys()].sort().at(-1) ?? '';
			this.#champions.set(id, served);
			const version = versions.get(served);
			if (version) version.status = 'champion';
		}
	}

	/**
	 * Takes the states the database registry holds. The champion switch is one map assignment:
	 * a request that already resolved its version keeps it, the next one gets the new champion, and
	 * every version stays loaded (its recorded decisions can still be explained). A champion whose
	 * bundle this instance lacks is refused with a warning, keeping the current one.
	 * Returns the models whose champion changed.
	 */
	apply(
		snapshot: ReadonlyMap<
			string,
			{ generation: number; previousChampion: string | null; states: ReadonlyMap<string, ModelState> }
		>
	): string[] {
		const changed: string[] = [];
		for (const [id, family] of snapshot) {
			this.#generations.set(id, family.generation);
			this.#previous.set(id, family.previousChampion);
			const versions = this.#models.get(id);
			if (!versions) continue;
			const champion = [...family.states].find(([, state]) => state === 'champion')?.[0];
			if (champion !== undefined && !versions.has(champion)) {
				logger.warn(
					{ model: id, version: champion },
					'the registry names a champion whose bundle is not here'
				);
				continue;
			}
			for (const [version, entry] of versions) entry.status = family.states.get(version) ?? 'registered';
			if (champion !== undefined && this.#champions.get(id) !== champion) {
				this.#champions.set(id, champion);
				changed.push(id);
			}
		}
		return changed;
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

	/**
	 * Adds a bundle loaded at run time (uploaded, here or on another instance) as `registered`; the
	 * database registry's states follow with the next `apply`.
	 */
	add(bundle: LoadedBundle): ModelVersion {
		const { id, version } = bundle.manifest.model;
		const versions = this.#models.get(id) ?? new Map<string, ModelVersion>();
		const entry = modelVersionOf(bundle, 'registered');
		versions.set(version, entry);
		this.#models.set(id, versions);
		// A model new to this instance needs a version to answer until the registry names its champion.
		if (!this.#champions.has(id)) this.#champions.set(id, version);
		return entry;
	}

	has(id: string, version: string): boolean {
		return this.#models.get(id)?.has(version) ?? false;
	}

	/** The registry generation of a model this instance applied last (0 before the database's). */
	generationOf(id: string): number {
		return this.#generations.get(id) ?? 0;
	}

	/** The champion a rollback would restore, if any. */
	previousChampionOf(id: string): string | null {
		return this.#previous.get(id) ?? null;
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

	/** The model's version in shadow (at most one), if any. */
	shadowOf(id: string): ModelVersion | undefined {
		for (const version of this.#models.get(id)?.values() ?? [])
			if (version.status === 'shadow') return version;
		return undefined;
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

function modelVersionOf(bundle: LoadedBundle, status: ModelState): ModelVersion {
	return {
		bundle,
		manifest: bundle.manifest,
		key: bundle.key,
		status,
		applicantSchema: buildApplicantSchema(bundle.manifest),
		checkApplicant: compileApplicantCheck(bundle.manifest),
		formSchema: buildApplicantSchema(bundle.manifest, { coerce: true })
	};
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
			generation: registry.generationOf(id),
			previousChampion: registry.previousChampionOf(id),
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
export function describeVersion(registry: ModelRegistry, version: ModelVersion) {
	const { manifest } = version;
	return {
		id: manifest.model.id,
		version: manifest.model.version,
		name: manifest.model.name,
		description: manifest.model.description,
		kind: manifest.model.kind,
		status: version.status,
		generation: registry.generationOf(manifest.model.id),
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
