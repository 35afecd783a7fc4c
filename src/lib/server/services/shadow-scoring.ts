/**
 * Shadow scoring: every champion decision of a model that has a version in shadow is also scored
 * by that version, in the background, and written to `shadow_predictions`.
 *
 * The champion's path only pays for `offer`: once its decision is committed (the sink wraps the
 * prediction writer, so only rows it wrote are offered), each row is pushed onto a bounded
 * in-memory queue, O(1) and synchronous. When the queue is full the row is dropped and counted,
 * never waited for. A single consumer takes up to `batchRows` rows, scores them with the shadow
 * version in the inference pool (with SHAP) and inserts them in one statement; a failure there is
 * counted and logged, never seen by a caller.
 *
 * The pool serves its queue first in, first out, with no priorities. So the consumer yields: it
 * sends at most one batch at a time, and only while no more than `yieldAboveQueuedRows` rows wait
 * for a worker. Under load the shadow queue fills and drops instead of delaying champion rows.
 */
import type { RawApplicant } from '$inference/manifest';
import { decisionFor } from '$inference/decision/policy';
import type { Database } from '../db';
import { shadowPredictions, type NewPrediction, type NewShadowPrediction } from '../db/schema';
import { logger } from '../logger';
import type { ModelRegistry, ModelVersion } from './models.service';
import type { PredictionSink, ScoringEngine } from './scoring/types';
import { encodeShap } from './stored-shap';

export interface ShadowOptions {
	/** Rows that may wait to be shadow-scored; more are dropped. */
	capacity: number;
	/** Most rows scored and written at once. */
	batchRows: number;
	/** Shadow work waits while more rows than this wait for an inference worker. */
	yieldAboveQueuedRows: number;
}

export type ShadowEvent = 'scored' | 'dropped' | 'failed';

export interface ShadowDeps {
	db: Database;
	models: ModelRegistry;
	engine: ScoringEngine;
	/** Rows waiting for an inference worker now. */
	queuedRows: () => number;
	/** Called for every count (metrics). */
	record?: (event: ShadowEvent, model: string, version: string, rows: number) => void;
}

interface Item {
	predictionId: string;
	modelId: string;
	championVersion: string;
	input: RawApplicant;
	decidedAt: Date;
	shadow: ModelVersion;
}

/** Counts since start, per `<model>@<shadow version>`. */
export interface ShadowStats {
	queued: number;
	scored: Record<string, number>;
	dropped: Record<string, number>;
	failed: Record<string, number>;
}

/** How long the consumer waits before looking again at a busy pool, in ms. */
const YIELD_MS = 2;

export class ShadowScorer {
	#items: (Item | undefined)[] = [];
	#head = 0;
	#running: Promise<void> | null = null;
	#closed = false;
	readonly #counts: Record<ShadowEvent, Map<string, number>> = {
		scored: new Map(),
		dropped: new Map(),
		failed: new Map()
	};

	constructor(
		private readonly deps: ShadowDeps,
		private readonly options: ShadowOptions
	) {}

	/** Rows waiting to be shadow-scored. */
	get queued(): number {
		return this.#items.length - this.#head;
	}

	/**
	 * The sink the scoring service writes through: the writer's answer, unchanged, and every row it
	 * wrote offered to the shadow queue.
	 */
	wrap(sink: PredictionSink): PredictionSink {
		return {
			write: async (row) => {
				const outcome = await sink.write(row);
				if (outcome === 'written') this.offer([row]);
				return outcome;
			},
			writeMany: async (rows) => {
				const outcomes = await sink.writeMany(rows);
				this.offer(rows.filter((_, i) => outcomes[i] === 'written'));
				return outcomes;
			}
		};
	}

	/** Queues recorded champion decisions of models with a version in shadow; never throws. */
	offer(rows: readonly NewPrediction[]): void {
		if (rows.length === 0) return;
		let added = false;
		const dropped = new Map<string, number>();
		for (const row of rows) {
			const shadow = this.#shadowFor(row);
			if (!shadow) continue;
			if (this.#closed || this.queued >= this.options.capacity) {
				dropped.set(shadow.key, (dropped.get(shadow.key) ?? 0) + 1);
				continue;
			}
			this.#items.push({
				predictionId: row.id,
				modelId: row.modelId,
				championVersion: row.modelVersion,
				input: row.input,
				decidedAt: row.createdAt ?? new Date(),
				shadow
			});
			added = true;
		}
		for (const [key, n] of dropped) this.#count('dropped', key, n);
		if (added && !this.#running) this.#running = this.#consume();
	}

	/** Resolves once every queued row has been scored (or failed) and written. */
	async idle(): Promise<void> {
		while (this.#running) await this.#running;
	}

	/** Stops taking rows, finishes the batch under way and drops (counting) what still waits. */
	async close(): Promise<void> {
		this.#closed = true;
		await this.idle();
	}

	stats(): ShadowStats {
		const plain = (m: Map<string, number>) => Object.fromEntries(m);
		return {
			queued: this.queued,
			scored: plain(this.#counts.scored),
			dropped: plain(this.#counts.dropped),
			failed: plain(this.#counts.failed)
		};
	}

	#shadowFor(row: NewPrediction): ModelVersion | undefined {
		try {
			const shadow = this.deps.models.shadowOf(row.modelId);
			if (!shadow) return undefined;
			// Only the champion's decisions: a call that named another version is not compared.
			const champion = this.deps.models.resolve(row.modelId);
			return champion.manifest.model.version === row.modelVersion ? shadow : undefined;
		} catch {
			return undefined;
		}
	}

	async #consume(): Promise<void> {
		try {
			while (this.queued > 0) {
				if (this.#closed) {
					this.#dropRest();
					break;
				}
				if (this.deps.queuedRows() > this.options.yieldAboveQueuedRows) {
					await new Promise((resolve) => setTimeout(resolve, YIELD_MS));
					continue;
				}
				await this.#runBatch(this.#take());
			}
		} catch (error) {
			logger.error({ err: error }, 'shadow scoring stopped on an unexpected error');
			this.#dropRest();
		} finally {
			this.#running = null;
		}
	}

	#take(): Item[] {
		const end = Math.min(this.#items.length, this.#head + this.options.batchRows);
		const batch = this.#items.slice(this.#head, end) as Item[];
		this.#head = end;
		if (this.#head >= 4096 && this.#head * 2 >= this.#items.length) {
			this.#items = this.#items.slice(this.#head);
			this.#head = 0;
		}
		return batch;
	}

	#dropRest(): void {
		const rest = this.#items.slice(this.#head) as Item[];
		this.#items = [];
		this.#head = 0;
		const byKey = new Map<string, number>();
		for (const item of rest) byKey.set(item.shadow.key, (byKey.get(item.shadow.key) ?? 0) + 1);
		for (const [key, n] of byKey) this.#count('dropped', key, n);
	}

	async #runBatch(batch: Item[]): Promise<void> {
		const groups = new Map<ModelVersion, Item[]>();
		for (const item of batch) groups.set(item.shadow, [...(groups.get(item.shadow) ?? []), item]);
		const rows: NewShadowPrediction[] = [];
		for (const [shadow, items] of groups) {
			// The champion checked the applicant against its own manifest; the shadow's may differ.
			const valid: { item: Item; applicant: RawApplicant }[] = [];
			for (const item of items) {
				const applicant = shadow.checkApplicant(item.input);
				if (applicant) valid.push({ item, applicant });
			}
			if (valid.length < items.length) this.#count('failed', shadow.key, items.length - valid.length);
			if (valid.length === 0) continue;
			try {
				const scored = await this.deps.engine.run(
					shadow,
					valid.map((v) => v.applicant)
				);
				const { cutoffs } = shadow.manifest.policy;
				scored.forEach((out, i) => {
					const item = valid[i]?.item;
					if (!item) return;
					rows.push({
						predictionId: item.predictionId,
						modelId: item.modelId,
						shadowVersion: shadow.manifest.model.version,
						championVersion: item.championVersion,
						probability: out.probability,
						decision: decisionFor(out.probability, cutoffs),
						shapValues: encodeShap(out.shap),
						decidedAt: item.decidedAt
					});
				});
			} catch (error) {
				logger.warn({ err: error, model: shadow.key, rows: valid.length }, 'shadow scoring failed');
				this.#count('failed', shadow.key, valid.length);
			}
		}
		if (rows.length === 0) return;
		try {
			await this.deps.db.insert(shadowPredictions).values(rows);
			const byKey = new Map<string, number>();
			for (const row of rows) {
				const key = `${row.modelId}@${row.shadowVersion}`;
				byKey.set(key, (byKey.get(key) ?? 0) + 1);
			}
			for (const [key, n] of byKey) this.#count('scored', key, n);
		} catch (error) {
			logger.warn({ err: error, rows: rows.length }, 'shadow predictions could not be written');
			const byKey = new Map<string, number>();
			for (const row of rows) {
				const key = `${row.modelId}@${row.shadowVersion}`;
				byKey.set(key, (byKey.get(key) ?? 0) + 1);
			}
			for (const [key, n] of byKey) this.#count('failed', key, n);
		}
	}

	#count(event: ShadowEvent, key: string, n: number): void {
		const map = this.#counts[event];
		map.set(key, (map.get(key) ?? 0) + n);
		const at = key.indexOf('@');
		this.deps.record?.(event, key.slice(0, at), key.slice(at + 1), n);
	}
}
