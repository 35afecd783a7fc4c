/**
 * Sends tasks to workers and keeps that safe: each task has a deadline while it runs; a worker
 * that crashes or misses a deadline is terminated and replaced; the task it was running is retried
 * once on another worker and then failed with a named error, and the tasks queued behind it are
 * re-sent untouched. Nothing waits forever and nothing is dropped silently.
 *
 * A worker runs its messages in order, so the first task of `handle.inFlight` is the one running:
 * its deadline starts when it reaches the head, and it is the one blamed when the worker dies.
 */
import { InferenceTimeout, PoolClosed, WorkerCrashed } from './errors';
import type { LoadSpec, WorkerOptions } from './messages';
import type { StatsRecorder } from './stats';
import type { Task } from './task';
import { WorkerHandle, type DeathCause, type WorkerEvents } from './worker-handle';

/** Smallest share of an open batch worth a message of its own. */
const MIN_SPLIT_ROWS = 8;

export interface DispatcherOptions {
	size: number;
	workerFile: string;
	workerOptions: Omit<WorkerOptions, 'channel' | 'slots' | 'control'>;
	taskTimeoutMs: number;
	/** Tasks sent ahead to one worker, so it never idles while its next batch is on the way. */
	maxInFlightPerWorker: number;
	stats: StatsRecorder;
	/** The next batch the batcher is ready to close (at most `maxRows` of it), when the queue is empty. */
	takeBatch: (maxRows: number) => Task | undefined;
	/** Rows still in open batches. */
	openRows: () => number;
	/** Closes every open batch into the queue. */
	flushBatches: () => void;
	/** Versions every worker must hold. */
	specs: () => LoadSpec[];
	/** Called once per task when it is answered or failed for good. */
	settled: (task: Task) => void;
}

/** Owns the workers and the task queue (see the file comment). */
export class Dispatcher implements WorkerEvents {
	readonly handles: WorkerHandle[] = [];
	private readonly queue: Task[] = [];
	queuedRows = 0;
	inFlightRows = 0;

	get queuedTasks(): number {
		return this.queue.length;
	}

	private nextWorkerId = 1;
	private pumpScheduled = false;
	private closed = false;
	private spawnFailures = 0;
	private respawnTimer: NodeJS.Timeout | undefined;
	private idleWaiters: (() => void)[] = [];

	constructor(private readonly o: DispatcherOptions) {}

	/** Starts all workers; rejects (and stops them) if any cannot start. */
	async start(): Promise<void> {
		const started = Array.from({ length: this.o.size }, () => this.spawn());
		const results = await Promise.allSettled(started);
		const failed = results.find((r) => r.status === 'rejected');
		if (failed !== undefined) {
			this.stopAll();
			throw failed.reason instanceof Error ? failed.reason : new WorkerCrashed(String(failed.reason));
		}
	}

	/** Queues a closed batch. */
	submit(task: Task): void {
		this.queue.push(task);
		this.queuedRows += task.nRows;
		this.wake();
	}

	/** Runs the pump at the next turn of the event loop (once, however often it is asked). */
	wake(): void {
		if (this.pumpScheduled) return;
		this.pumpScheduled = true;
		setImmediate(this.pumpSoon);
	}

	private readonly pumpSoon = (): void => {
		this.pumpScheduled = false;
		this.pump();
	};

	/**
	 * Fills every worker's free slots: queued tasks first, then batches ready to close. An open batch
	 * is shared among the idle workers (at least {@link MIN_SPLIT_ROWS} rows each) so they compute in
	 * parallel instead of one of them taking all the rows.
	 */
	pump(): void {
		for (;;) {
			const h = this.freeWorker();
			if (h === undefined) break;
			const queued = this.queue.shift();
			if (queued !== undefined) this.queuedRows -= queued.nRows;
			const idle = h.inFlight.length === 0 ? this.idleWorkers() : 1;
			const share = Math.max(MIN_SPLIT_ROWS, Math.ceil(this.o.openRows() / idle));
			const task = queued ?? this.o.takeBatch(share);
			if (task === undefined) break;
			this.dispatch(h, task);
		}
		if (this.idleWaiters.length > 0 && this.isIdle()) {
			for (const w of this.idleWaiters.splice(0)) w();
		}
	}

	/**
	 * Loads a version into every ready worker, one after another so that the others keep serving;
	 * workers starting meanwhile load it from `specs()`. Returns the version's base value.
	 */
	async loadEverywhere(spec: LoadSpec): Promise<number> {
		for (;;) {
			for (const h of [...this.handles]) {
				if (h.state !== 'ready' || h.baseValues.has(spec.key)) continue;
				try {
					await h.load(spec);
				} catch (e) {
					if (!h.alive) continue; // its replacement loads the spec on start
					await this.unloadEverywhere(spec.key);
					throw e;
				}
			}
			const base = this.handles.find((h) => h.baseValues.has(spec.key))?.baseValues.get(spec.key);
			if (base !== undefined) return base;
			if (this.closed) throw new PoolClosed('inference pool closed');
			// No worker was ready (all being replaced): wait for one to come up and try again.
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	}

	async unloadEverywhere(key: string): Promise<void> {
		const live = this.handles.filter((h) => h.state === 'ready' && h.baseValues.has(key));
		await Promise.allSettled(live.map((h) => h.unload(key)));
	}

	/** Resolves when nothing is queued or running. */
	idle(): Promise<void> {
		if (this.isIdle()) return Promise.resolve();
		return new Promise((resolve) => this.idleWaiters.push(resolve));
	}

	/** Stops every worker; pending work must have been drained or failed first. */
	stopAll(): void {
		this.closed = true;
		clearTimeout(this.respawnTimer);
		for (const h of [...this.handles]) h.kill('closed', new PoolClosed('inference pool closed'));
	}

	// --- WorkerEvents ---------------------------------------------------------------------------

	onResult(h: WorkerHandle, task: Task, data: Float64Array): void {
		this.finishHead(h, task);
		h.completedTasks += 1;
		h.completedRows += task.nRows;
		this.o.stats.recordCompleted(task.nRows);
		task.complete(data);
		this.o.settled(task);
		this.pump();
	}

	onTaskError(h: WorkerHandle, task: Task, error: Error): void {
		this.finishHead(h, task);
		this.o.stats.counters.modelErrors += 1;
		this.failTask(task, error);
		this.pump();
	}

	onDeath(h: WorkerHandle, cause: DeathCause, error: Error): void {
		this.handles.splice(this.handles.indexOf(h), 1);
		if (cause === 'closed') return;
		if (cause === 'timeout') this.o.stats.counters.timeouts += 1;
		else this.o.stats.counters.crashes += 1;
		const orphans = h.inFlight.splice(0);
		// Re-queue in their original order, ahead of newer work; only the running one is blamed.
		for (let i = orphans.length - 1; i >= 0; i--) {
			const task = orphans[i];
			if (task === undefined) continue;
			this.inFlightRows -= task.nRows;
			if (i === 0 && ++task.attempts >= 2) {
				this.failTask(task, finalError(task, cause, error, this.o.taskTimeoutMs));
				continue;
			}
			if (i === 0) this.o.stats.counters.retries += 1;
			this.queue.unshift(task);
			this.queuedRows += task.nRows;
		}
		this.replace();
		this.pump();
	}

	// --- internals ------------------------------------------------------------------------------

	private dispatch(h: WorkerHandle, task: Task): void {
		h.inFlight.push(task);
		this.inFlightRows += task.nRows;
		this.o.stats.recordBatch(task.nRows);
		if (h.inFlight.length === 1) this.startDeadline(h, task);
		h.send(task);
	}

	private finishHead(h: WorkerHandle, task: Task): void {
		clearTimeout(h.timer);
		this.inFlightRows -= task.nRows;
		const next = h.inFlight[0];
		if (next !== undefined) this.startDeadline(h, next);
	}

	private startDeadline(h: WorkerHandle, task: Task): void {
		task.startedAt = performance.now();
		h.timer = setTimeout(() => {
			h.kill(
				'timeout',
				new InferenceTimeout(`worker ${h.id} took more than ${this.o.taskTimeoutMs} ms on a batch`)
			);
		}, this.o.taskTimeoutMs);
	}

	private failTask(task: Task, error: Error): void {
		this.o.stats.counters.failedRows += task.nRows;
		task.fail(error);
		this.o.settled(task);
	}

	private idleWorkers(): number {
		let n = 0;
		for (const h of this.handles) if (h.state === 'ready' && h.inFlight.length === 0) n++;
		return Math.max(1, n);
	}

	/** Least-loaded ready worker with a free slot. */
	private freeWorker(): WorkerHandle | undefined {
		let best: WorkerHandle | undefined;
		for (const h of this.handles) {
			if (h.state !== 'ready' || h.inFlight.length >= this.o.maxInFlightPerWorker) continue;
			if (best === undefined || h.inFlight.length < best.inFlight.length) best = h;
		}
		return best;
	}

	private isIdle(): boolean {
		return this.queue.length === 0 && this.inFlightRows === 0 && this.o.openRows() === 0;
	}

	/** Starts a worker and loads every registered version into it before it takes work. */
	private async spawn(): Promise<WorkerHandle> {
		const h = new WorkerHandle(
			this.nextWorkerId++,
			this.o.workerFile,
			this.o.workerOptions,
			this.o.maxInFlightPerWorker,
			this
		);
		this.handles.push(h);
		await h.ready();
		for (;;) {
			const missing = this.o.specs().filter((s) => !h.baseValues.has(s.key));
			if (missing.length === 0) break;
			for (const spec of missing) await h.load(spec);
		}
		// Versions retired while this worker was loading them.
		const wanted = new Set(this.o.specs().map((s) => s.key));
		for (const key of [...h.baseValues.keys()])
			if (!wanted.has(key)) void h.unload(key).catch(() => undefined);
		if (h.state === 'starting') h.state = 'ready';
		this.spawnFailures = 0;
		this.pump();
		return h;
	}

	/** Replaces a dead worker; backs off when replacements keep failing. */
	private replace(): void {
		if (this.closed || this.respawnTimer !== undefined) return;
		const delay = this.spawnFailures === 0 ? 0 : Math.min(5000, 100 * 2 ** (this.spawnFailures - 1));
		this.respawnTimer = setTimeout(() => {
			this.respawnTimer = undefined;
			if (this.closed || this.handles.length >= this.o.size) return;
			this.o.stats.counters.restarts += 1;
			this.spawn().then(
				() => {
					if (this.handles.length < this.o.size) this.replace();
				},
				(e: unknown) => this.spawnFailed(e)
			);
		}, delay);
		this.respawnTimer.unref();
	}

	private spawnFailed(e: unknown): void {
		this.spawnFailures += 1;
		const error = new WorkerCrashed(
			`could not start an inference worker: ${e instanceof Error ? e.message : String(e)}`
		);
		for (const h of this.handles)
			if (h.state === 'starting' && h.inFlight.length === 0) h.kill('crash', error);
		// With no worker able to run anything, waiting work would hang: fail it instead.
		if (!this.handles.some((h) => h.state === 'ready')) {
			this.o.flushBatches();
			for (const task of this.queue.splice(0)) this.failTask(task, error);
			this.queuedRows = 0;
		}
		this.replace();
		this.pump();
	}
}

function finalError(task: Task, cause: DeathCause, error: Error, timeoutMs: number): Error {
	const what = `${task.nRows} row(s) of ${task.version.key}`;
	return cause === 'timeout'
		? new InferenceTimeout(`${what} timed out (${timeoutMs} ms) on two workers in turn; they were not scored`)
		: new WorkerCrashed(
				`${what} were running when two workers in turn died (${error.message}); they were not scored`
			);
}
