/**
 * The inference pool: the only way the app scores. Workers (`worker_threads`, one per core by
 * default) each hold an onnxruntime session per loaded version; the main thread validates nothing
 * but shapes, encodes raw applicants, batches rows and hands results back — it never runs a model.
 *
 *   const pool = await InferencePool.start({ modelsDir: 'models' });
 *   const s = await pool.scoreOne('lending-club', applicant, { decide: true });
 *   await pool.close();
 */
import { availableParallelism } from 'node:os';
import { discoverBundles, type LoadedBundle } from '../bundle/load-bundle';
import { InvalidInput } from '../errors';
import type { RawApplicant } from '../manifest';
import { Batcher } from './batcher';
import { Dispatcher } from './dispatcher';
import { Overloaded, PoolClosed } from './errors';
import { ModelRegistry, type ModelVersion } from './registry';
import {
	BatchSink,
	OneRowSink,
	RowsSink,
	type BatchScore,
	type CallerRows,
	type ResultSink,
	type RowScore,
	type ScoreOptions
} from './sinks';
import { snapshotStats } from './snapshot';
import { StatsRecorder, type PoolStats } from './stats';
import { VersionManager, type LoadOptions, type ModelInfo } from './versions';
import { resolveWorkerPath } from './worker-path';

export type { LoadOptions, ModelInfo };

export interface PoolOptions {
	/** Worker threads; default: the number of CPU cores. */
	size?: number;
	/** Bundles to serve from the start. */
	bundles?: readonly LoadedBundle[];
	/** Also load every bundle under this folder (`<id>/<version>/manifest.json`). */
	modelsDir?: string;
	/**
	 * Version each model id serves by default (`{ 'lending-club': 'xgb-1.0.0' }`); ids not listed
	 * serve their most recently created version.
	 */
	active?: Readonly<Record<string, string>>;
	/** Rows that may wait for a worker before calls fail with `Overloaded`; default 16384. */
	maxQueue?: number;
	/** Largest batch sent to a worker; bigger calls are split. Default 512. */
	maxBatchRows?: number;
	/** Least age of a batch before it leaves while a worker is free; default 0 (next tick). */
	maxWaitMs?: number;
	/** Longest a batch may run before its worker is replaced; default 10000. */
	taskTimeoutMs?: number;
	/** Batches queued ahead in each worker; default 2. */
	maxInFlightPerWorker?: number;
	/** onnxruntime intra-op threads per session; default 1. */
	intraOpThreads?: number;
	/** Worker entry file; default `$CREDIBLE_INFERENCE_WORKER` or `dist/inference-worker.mjs`. */
	workerPath?: string;
	/** Accept test models (`load(..., { testModel })`); for the pool's own tests only. */
	testModels?: boolean;
}

/**
 * A pool of inference workers serving loaded model versions: micro-batched scoring with exact SHAP
 * and decisions, backpressure, crash and hang recovery, hot reload and graceful close.
 */
export class InferencePool {
	private readonly registry = new ModelRegistry();
	private readonly stats_ = new StatsRecorder();
	private readonly batcher: Batcher;
	private readonly dispatcher: Dispatcher;
	private readonly versions: VersionManager;
	private readonly maxQueue: number;
	private closing: Promise<void> | null = null;

	private constructor(o: PoolOptions) {
		this.maxQueue = o.maxQueue ?? 16_384;
		const testModels = o.testModels === true;
		this.batcher = new Batcher({
			maxBatchRows: o.maxBatchRows ?? 512,
			maxWaitMs: o.maxWaitMs ?? 0,
			submit: (t) => this.dispatcher.submit(t),
			wake: () => this.dispatcher.wake()
		});
		this.dispatcher = new Dispatcher({
			size: o.size ?? availableParallelism(),
			workerFile: resolveWorkerPath(o.workerPath),
			workerOptions: { intraOpThreads: o.intraOpThreads ?? 1, testModels },
			taskTimeoutMs: o.taskTimeoutMs ?? 10_000,
			maxInFlightPerWorker: o.maxInFlightPerWorker ?? 2,
			stats: this.stats_,
			takeBatch: (maxRows) => this.batcher.takeDue(maxRows),
			openRows: () => this.batcher.openRows,
			flushBatches: () => this.batcher.flushAll(),
			specs: () => this.registry.specs(),
			settled: (t) => this.versions.settled(t)
		});
		this.versions = new VersionManager(
			this.registry,
			this.dispatcher,
			testModels,
			() => this.closing !== null
		);
	}

	/**
	 * Starts the workers and loads the bundles.
	 * @throws {WorkerNotFound} the worker entry is not built
	 * @throws {BundleInvalid | ChecksumMismatch | MissingCover | UnsupportedModel | ModelError} a bundle failed to load
	 */
	static async start(options: PoolOptions = {}): Promise<InferencePool> {
		const pool = new InferencePool(options);
		await pool.dispatcher.start();
		try {
			const bundles = [
				...(options.bundles ?? []),
				...(options.modelsDir ? await discoverBundles(options.modelsDir) : [])
			];
			for (const b of bundles) await pool.load(b, { activate: false });
			pool.versions.activateDefaults(options.active ?? {});
		} catch (e) {
			pool.dispatcher.stopAll();
			throw e;
		}
		return pool;
	}

	/**
	 * Scores one applicant (raw, or an encoded row of `columns` floats — not to be modified until
	 * the promise settles). Concurrent calls share batches.
	 * @throws {ModelNotFound | Overloaded | InvalidInput | InferenceTimeout | WorkerCrashed | ModelError | PoolClosed}
	 */
	scoreOne(
		model: string,
		row: Readonly<RawApplicant> | Float32Array,
		options: ScoreOptions = {}
	): Promise<RowScore> {
		// The API's hot path: written out rather than through `submit`, to spare a closure per call.
		try {
			if (this.closing) throw new PoolClosed('inference pool is closing');
			const v = this.registry.resolve(model);
			this.admit(1);
			const rows: CallerRows = row instanceof Float32Array ? row : [row];
			const src = this.encode(v, rows, true);
			const decide = options.decide === true;
			const explain = decide || options.explain === true;
			return new Promise<RowScore>((resolve, reject) => {
				v.pendingRows += 1;
				this.batcher.add(v, new OneRowSink(resolve, reject, rows, decide), src, 1, explain);
			});
		} catch (e) {
			return Promise.reject(e instanceof Error ? e : new Error(String(e)));
		}
	}

	/** Scores several applicants; results in input order. Same errors as {@link scoreOne}. */
	score(
		model: string,
		rows: readonly Readonly<RawApplicant>[] | Float32Array,
		options: ScoreOptions = {}
	): Promise<RowScore[]> {
		return this.submit(
			model,
			rows,
			options,
			false,
			(resolve, reject, input, _v, n) => new RowsSink(resolve, reject, input, n, options.decide === true)
		);
	}

	/**
	 * Scores a batch column-wise, split over the workers in `maxBatchRows` chunks: for files and
	 * batch jobs, where per-row objects would cost more than the model.
	 */
	scoreBatch(
		model: string,
		rows: readonly Readonly<RawApplicant>[] | Float32Array,
		options: ScoreOptions = {}
	): Promise<BatchScore> {
		return this.submit(
			model,
			rows,
			options,
			false,
			(resolve, reject, input, v, n) => new BatchSink(resolve, reject, input, v, n, options)
		);
	}

	/** Loads a version into every worker. @throws the bundle's load error, naming it */
	load(bundle: LoadedBundle, options: LoadOptions = {}): Promise<ModelInfo> {
		return this.versions.load(bundle, options);
	}

	/** Makes `<id>@<version>` the version `<id>` resolves to, atomically. @throws {ModelNotFound} */
	activate(key: string): void {
		this.versions.activate(key);
	}

	/**
	 * Hot reload: loads `bundle` into every worker while requests keep flowing, switches its model id
	 * to it atomically, then retires the previous version (unloaded once its admitted rows are
	 * answered; `drained` resolves then).
	 */
	reload(
		bundle: LoadedBundle,
		options: Omit<LoadOptions, 'activate'> = {}
	): Promise<ModelInfo & { previous: string | null; drained: Promise<void> }> {
		return this.versions.reload(bundle, options);
	}

	/** Stops new requests to a (non-active) version and unloads it once its admitted rows are answered. */
	retire(key: string): Promise<void> {
		return this.versions.retire(key);
	}

	/** The versions served, loading or retiring. */
	models(): ModelInfo[] {
		return this.registry.all().map((v) => this.versions.info(v));
	}

	/** The version `ref` (`<id>` or `<id>@<version>`) resolves to now. @throws {ModelNotFound} */
	model(ref: string): ModelInfo {
		return this.versions.info(this.registry.resolve(ref));
	}

	/** Rows admitted and waiting for a worker (open batches and queued tasks): cheap, for yielding. */
	queuedRows(): number {
		return this.batcher.openRows + this.dispatcher.queuedRows;
	}

	/** Queue, workers, counters and batch sizes, for metrics. */
	stats(): PoolStats {
		return snapshotStats(this.stats_, this.dispatcher, this.batcher.openRows, this.registry);
	}

	/** Stops taking work, answers everything admitted, then stops the workers. */
	close(): Promise<void> {
		this.closing ??= (async () => {
			this.batcher.flushAll();
			await this.dispatcher.idle();
			this.dispatcher.stopAll();
		})();
		return this.closing;
	}

	// --- internals ------------------------------------------------------------------------------

	private submit<T>(
		model: string,
		input: CallerRows,
		options: ScoreOptions,
		single: boolean,
		makeSink: (
			resolve: (r: T) => void,
			reject: (e: Error) => void,
			rows: CallerRows,
			v: ModelVersion,
			n: number
		) => ResultSink
	): Promise<T> {
		try {
			if (this.closing) throw new PoolClosed('inference pool is closing');
			const v = this.registry.resolve(model);
			const n = input instanceof Float32Array ? Math.floor(input.length / v.nCols) : input.length;
			this.admit(n);
			const rows = this.encode(v, input, single);
			return new Promise<T>((resolve, reject) => {
				const sink = makeSink(resolve, reject, input, v, n);
				v.pendingRows += n;
				if (n === 0) sink.deliver(v, new Float64Array(0), 0, 0, 0, 0, -1);
				else this.batcher.add(v, sink, rows, n, options.explain === true || options.decide === true);
			});
		} catch (e) {
			return Promise.reject(e instanceof Error ? e : new Error(String(e)));
		}
	}

	/** Encoded rows of a call; a single raw row goes through the version's scratch row. */
	private encode(v: ModelVersion, input: CallerRows, single: boolean): Float32Array {
		if (input instanceof Float32Array) {
			if (input.length % v.nCols !== 0 || (single && input.length !== v.nCols)) {
				throw new InvalidInput(
					'row',
					`expected ${single ? '' : 'a multiple of '}${v.nCols} floats, got ${input.length}`
				);
			}
			return input;
		}
		if (single && input.length === 1 && input[0] !== undefined) {
			v.encoder.encode(input[0], v.scratch, 0);
			return v.scratch;
		}
		return v.encoder.encodeMany(input);
	}

	/** Fails fast when the queue is full. A call larger than the whole queue may still enter an empty one. */
	private admit(n: number): void {
		const queued = this.batcher.openRows + this.dispatcher.queuedRows;
		if (queued === 0 || queued + n <= this.maxQueue) return;
		this.stats_.counters.overloaded += 1;
		const rate = this.stats_.rowsPerSecond();
		const backlog = queued + this.dispatcher.inFlightRows;
		const seconds = rate > 0 ? Math.ceil(backlog / rate) : 1;
		throw new Overloaded(Math.min(60, Math.max(1, seconds)), queued);
	}
}
