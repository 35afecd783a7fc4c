/**
 * Keeps this instance's champions equal to the database registry's. A change made here (promote,
 * rollback) is applied as soon as its transaction commits; a change made by another instance or by
 * the CLI arrives as a PostgreSQL notification, and a periodic check of the families' generations
 * catches one whose notification was lost (a dropped listening connection). Applying is a map
 * assignment in `ModelRegistry.apply`: no version is unloaded, so no request in flight fails.
 */
import type { DatabaseHandle } from '../db';
import { logger } from '../logger';
import type { AuditActor } from './audit.service';
import {
	promoteVersion,
	readGenerations,
	readRegistry,
	REGISTRY_CHANNEL,
	rollbackModel,
	seedRegistry,
	type ChangeContext,
	type RegistryChange
} from './model-registry.service';
import type { ModelRegistry } from './models.service';

export interface LifecycleOptions {
	/** How often to compare generations with the database, in ms. Default 2,000. */
	checkIntervalMs?: number;
	/** Tells the inference pool which version `<id>` alone now means. */
	activate?: (key: string) => void;
}

export class ModelLifecycle {
	#timer: ReturnType<typeof setInterval> | undefined;
	#unlisten: (() => Promise<void>) | undefined;
	/** One refresh at a time; a request for another while one runs is folded into a follow-up. */
	#refreshing: Promise<void> | null = null;
	#again = false;

	constructor(
		private readonly database: DatabaseHandle,
		private readonly models: ModelRegistry,
		private readonly options: LifecycleOptions = {}
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
		for (const id of this.models.apply(snapshot)) {
			const champion = this.models.resolve(id);
			try {
				this.options.activate?.(champion.key);
			} catch (error) {
				logger.warn(
					{ err: error, model: champion.key },
					'the inference pool could not activate the champion'
				);
			}
			logger.info({ model: id, champion: champion.manifest.model.version }, 'champion changed');
		}
	}

	async #check(): Promise<void> {
		try {
			const generations = await readGenerations(this.database.db);
			for (const [id, generation] of generations) {
				if (this.models.versionsOf(id).length > 0 && generation !== this.models.generationOf(id)) {
					await this.refresh();
					return;
				}
			}
		} catch (error) {
			logger.warn({ err: error }, 'the model registry check failed');
		}
	}
}
