/**
 * The life of a model version in the pool: loaded into every worker (one worker at a time, so the
 * others keep serving), activated, and retired — it stops taking requests, answers the rows it has
 * admitted, and only then is unloaded. Hot reload is these three in a row.
 */
import type { LoadedBundle } from '../bundle/load-bundle';
import type { Manifest } from '../manifest';
import type { Dispatcher } from './dispatcher';
import { ModelNotFound, PoolClosed } from './errors';
import type { LoadSpec, TestModelSpec } from './messages';
import { ModelVersion, type ModelRegistry } from './registry';
import type { Task } from './task';

/** A served model version. */
export interface ModelInfo {
	key: string;
	id: string;
	version: string;
	/** Whether `<id>` alone resolves to this version. */
	active: boolean;
	state: 'loading' | 'ready' | 'retiring';
	baseValue: number;
	manifest: Manifest;
}

export interface LoadOptions {
	/** Make it the version `<id>` resolves to; default: only if the id has no active version. */
	activate?: boolean;
	/** Serve a test model with this bundle's manifest instead of its ONNX file (tests only). */
	testModel?: TestModelSpec;
}

/** Small integer naming a version in the workers' task rings; never reused within a process. */
let nextIndex = 1;

/** Loads, activates and retires versions for the pool (see the file comment). */
export class VersionManager {
	/** Versions being retired, with the promise `retire` returned and its resolver. */
	private readonly retirements = new Map<ModelVersion, { done: Promise<void>; resolve: () => void }>();

	constructor(
		private readonly registry: ModelRegistry,
		private readonly dispatcher: Dispatcher,
		private readonly testModels: boolean,
		private readonly closing: () => boolean
	) {}

	async load(bundle: LoadedBundle, options: LoadOptions = {}): Promise<ModelInfo> {
		if (this.closing()) throw new PoolClosed('inference pool is closing');
		if (options.testModel !== undefined && !this.testModels) {
			throw new Error('this pool was not started with testModels');
		}
		const { key, manifest, modelBytes } = bundle;
		const index = nextIndex++;
		const spec: LoadSpec =
			options.testModel === undefined
				? { kind: 'onnx', key, index, manifest, modelBytes }
				: { kind: 'test', key, index, manifest, test: options.testModel };
		const v = new ModelVersion(manifest, spec);
		this.registry.add(v);
		try {
			v.baseValue = await this.dispatcher.loadEverywhere(spec);
		} catch (e) {
			this.registry.remove(v);
			throw e;
		}
		v.state = 'ready';
		if (options.activate ?? this.registry.activeOf(v.id) === undefined) this.registry.activate(v);
		return this.info(v);
	}

	activate(key: string): void {
		const v = this.registry.get(key);
		if (v === undefined || v.state !== 'ready') throw new ModelNotFound(`no model "${key}" is ready`);
		this.registry.activate(v);
	}

	async reload(
		bundle: LoadedBundle,
		options: Omit<LoadOptions, 'activate'>
	): Promise<ModelInfo & { previous: string | null; drained: Promise<void> }> {
		const info = await this.load(bundle, { ...options, activate: false });
		const v = this.registry.get(info.key);
		if (v === undefined) throw new ModelNotFound(`model ${info.key} vanished during reload`);
		// The switch itself: one assignment; requests already admitted keep the version they got.
		const previous = this.registry.activate(v);
		const drained = previous !== undefined && previous !== v ? this.retire(previous.key) : Promise.resolve();
		return { ...this.info(v), previous: previous?.key ?? null, drained };
	}

	retire(key: string): Promise<void> {
		const v = this.registry.get(key);
		if (v === undefined) return Promise.resolve();
		if (this.registry.activeOf(v.id) === v) {
			return Promise.reject(new Error(`${key} is active: activate another version first`));
		}
		const pending = this.retirements.get(v);
		if (pending !== undefined) return pending.done;
		v.state = 'retiring';
		let resolve: () => void = () => undefined;
		const done = new Promise<void>((r) => (resolve = r));
		this.retirements.set(v, { done, resolve });
		if (v.pendingRows === 0) this.finishRetire(v);
		return done;
	}

	/** Accounts for a task answered or failed for good; finishes a retirement it was holding up. */
	settled(task: Task): void {
		const v = task.version;
		v.pendingRows -= task.nRows;
		// Nothing reads a settled task's rows again (a retry happens before it settles).
		v.giveRows(task.rows);
		if (v.state === 'retiring' && v.pendingRows === 0) this.finishRetire(v);
	}

	/** Activates `chosen[id]` for each model id, else its most recently created version. */
	activateDefaults(chosen: Readonly<Record<string, string>>): void {
		const byId = new Map<string, ModelVersion[]>();
		for (const v of this.registry.all()) byId.set(v.id, [...(byId.get(v.id) ?? []), v]);
		const newest = (a: ModelVersion, b: ModelVersion): number =>
			a.manifest.model.createdAt.localeCompare(b.manifest.model.createdAt) ||
			a.version.localeCompare(b.version);
		for (const [id, versions] of byId) {
			const pick = chosen[id];
			const v = pick !== undefined ? versions.find((x) => x.version === pick) : versions.sort(newest).at(-1);
			if (v === undefined) throw new ModelNotFound(`active version ${id}@${pick} is not among the bundles`);
			this.registry.activate(v);
		}
	}

	info(v: ModelVersion): ModelInfo {
		return {
			key: v.key,
			id: v.id,
			version: v.version,
			active: this.registry.activeOf(v.id) === v,
			state: v.state,
			baseValue: v.baseValue,
			manifest: v.manifest
		};
	}

	private finishRetire(v: ModelVersion): void {
		this.registry.remove(v);
		const pending = this.retirements.get(v);
		this.retirements.delete(v);
		void this.dispatcher.unloadEverywhere(v.key).finally(() => pending?.resolve());
	}
}
