/**
 * Keeps this instance's champions equal to the database registry's. A change made here (promote,
 * rollback) is applied as soon as its transaction commits; a change made by another instance or by
 * the CLI arrives as a PostgreSQL notification, and a periodic check of the families' generations
 * catches one whose notification was lost (a dropped listening connection). Applying is a map
 * assignment in `ModelRegistry.apply`: no version is unloaded, so no request in flight fails.
 */
import type { InferencePool } from '$inference/pool/pool';
import type { DatabaseHandle } from '../db';
import { logger } from '../logger';
import type { AuditActor } from './audit.service';
import { loadStoredBundle, uploadBundle, type UploadResult } from './bundle-upload.service';
import {
	promoteVersion,
	readGenerations,
	readRegistry,
	REGISTRY_CHANNEL,
	rollbackModel,
	seedRegistry,
	shadowVersion,
	unshadowModel,
	type ChangeContext,
	type RegistryChange,
	type ShadowChange
} from './model-registry.service';
import type { ModelRegistry } from './models.service';

export interface LifecycleOptions {
	/** How often to compare generations with the database, in ms. Default 2,000. */
	checkIntervalMs?: number;
	/** The inference pool: uploaded bundles are loaded into it, and told which version `<id>` means. */
	pool: InferencePool;
	/** Where bundles loaded at run time (uploaded here or elsewhere) are unpacked. */
	bundleDir: string;
}

export class ModelLifecycle {
	#timer: ReturnType<typeof setInterval> | undefined;
	#unlisten: (() => Promise<void>) | undefined;
	/** One refresh at a time; a request for another while one runs is folded into a follow-up. */
	#refreshing: Promise<void> | null = null;
	#again = false;
	/** Versions the registry names that this instance cannot load (warned about once). */
	readonly #unavailable = new Set<string>();
	/** Versions being uploaded here: their notification must not make this instance fetch them. */
	readonly #uploading = new Set<string>();

	constructor(
		private readonly database: DatabaseHandle,
		private readonly models: ModelRegistry,
		private readonly options: LifecycleOptions
	) {}

	/** Seeds the registry from the bundles here, applies it, then follows its changes. */
	async start(): Promise<void> {
		const added = await seedRegistry(
			this.database.db,
			this.models.all().map((v) => ({
				modelId: v.manifest.model.id,
				version: v.manifest.model.version,
				name: v.manifest.model.name,
				sha256: v.manifest.file.sha256,
				declared: v.status
			}))
		);
		if (added.length > 0) logger.info({ versions: added }, 'model versions registered');
		await this.refresh();
		this.#unlisten = await this.database.listen(REGISTRY_CHANNEL, () => void this.refresh());
		const every = this.options.checkIntervalMs ?? 2000;
		this.#timer = setInterval(() => void this.#check(), every);
		this.#timer.unref();
	}

	async stop(): Promise<void> {
		clearInterval(this.#timer);
		this.#timer = undefined;
		await this.#unlisten?.().catch(() => undefined);
		this.#unlisten = undefined;
		await this.#refreshing;
	}

	/** Promotes a version (see `promoteVersion`) and applies it here before answering. */
	async promote(actor: AuditActor, input: unknown, context: ChangeContext): Promise<RegistryChange> {
		const change = await promoteVersion(this.database.db, actor, input, context);
		await this.refresh();
		return change;
	}

	/** Rolls a model back (see `rollbackModel`) and applies it here before answering. */
	async rollback(actor: AuditActor, input: unknown, context: ChangeContext): Promise<RegistryChange> {
		const change = await rollbackModel(this.database.db, actor, input, context);
		await this.refresh();
		return change;
	}

	/** Puts a version into shadow (see `shadowVersion`) and applies it here before answering. */
	async shadow(actor: AuditActor, input: unknown, context: ChangeContext): Promise<ShadowChange> {
		const change = await shadowVersion(this.database.db, actor, input, context);
		await this.refresh();
		return change;
	}

	/** Takes a model's version out of shadow (see `unshadowModel`) and applies it here. */
	async unshadow(actor: AuditActor, input: unknown, context: ChangeContext): Promise<ShadowChange> {
		const change = await unshadowModel(this.database.db, actor, input, context);
		await this.refresh();
		return change;
	}

	/**
	 * Checks an uploaded bundle (manifest, SHA-256, golden rows in the workers), registers and stores
	 * it, and serves it here before answering; see `bundle-upload.service.ts`.
	 */
	async upload(actor: AuditActor, input: unknown, context: ChangeContext): Promise<UploadResult> {
		let key: string | null = null;
		try {
			const { result, bundle } = await uploadBundle(
				this.#uploadDeps(),
				actor,
				input,
				context,
				(id, version) => {
					key = `${id}@${version}`;
					const known = this.models.has(id, version) || this.#uploading.has(key);
					if (!known) this.#uploading.add(key);
					else key = null;
					return known;
				}
			);
			this.models.add(bundle);
			await this.refresh();
			return result;
		} finally {
			if (key !== null) this.#uploading.delete(key);
		}
	}

	/** Reads the registry and applies it; concurrent calls share a run and one follow-up. */
	refresh(): Promise<void> {
		if (this.#refreshing) {
			this.#again = true;
			return this.#refreshing;
		}
		this.#refreshing = (async () => {
			try {
				do {
					this.#again = false;
					await this.#applyOnce();
				} while (this.#again);
			} catch (error) {
				logger.error({ err: error }, 'the model registry could not be read; keeping the current champions');
			} finally {
				this.#refreshing = null;
			}
		})();
		return this.#refreshing;
	}

	async #applyOnce(): Promise<void> {
		const snapshot = await readRegistry(this.database.db);
		for (const [id, family] of snapshot) {
			for (const version of family.states.keys()) {
				if (!this.models.has(id, version)) await this.#loadStored(id, version);
			}
		}
		for (const id of this.models.apply(snapshot)) {
			const champion = this.models.resolve(id);
			try {
				this.options.pool.activate(champion.key);
			} catch (error) {
				logger.warn(
					{ err: error, model: champion.key },
					'the inference pool could not activate the champion'
				);
			}
			logger.info({ model: id, champion: champion.manifest.model.version }, 'champion changed');
		}
	}

	/** Loads a version uploaded on another instance; one that has no stored archive is skipped. */
	async #loadStored(id: string, version: string): Promise<void> {
		const key = `${id}@${version}`;
		if (this.#unavailable.has(key) || this.#uploading.has(key)) return;
		try {
			const bundle = await loadStoredBundle(this.#uploadDeps(), id, version);
			if (bundle) {
				this.models.add(bundle);
				logger.info({ model: key }, 'uploaded bundle loaded from the database');
				return;
			}
			logger.warn({ model: key }, 'the registry names a version with no bundle here or in the database');
		} catch (error) {
			logger.error({ err: error, model: key }, 'a stored bundle could not be loaded');
		}
		this.#unavailable.add(key);
	}

	#uploadDeps() {
		return { db: this.database.db, pool: this.options.pool, bundleDir: this.options.bundleDir };
	}

	async #check(): Promise<void> {
		try {
			const generations = await readGenerations(this.database.db);
			for (const [id, generation] of generations) {
				if (generation !== this.models.generationOf(id)) {
					await this.refresh();
					return;
				}
			}
		} catch (error) {
			logger.warn({ err: error }, 'the model registry check failed');
		}
	}
}
