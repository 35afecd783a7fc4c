/**
 * Micro-batching. Rows of concurrent calls for the same model version are copied into one open
 * batch; the dispatcher takes it when a worker has room. So a batch closes when:
 * - it reaches `maxBatchRows` (or what fits in a slot of a worker's ring: sent at once), or
 * - a worker is free at the next turn of the event loop (`setImmediate`: every request read in the
 *   same I/O phase is in it) and the batch is at least `maxWaitMs` old.
 * While every worker is busy, rows keep gathering: batches grow with load, by themselves, and a
 * lone request is never held back waiting for company (with the default `maxWaitMs` = 0).
 *
 * A call larger than `maxBatchRows` is split over several tasks, which the dispatcher spreads over
 * the workers.
 */
import type { ModelVersion } from './registry';
import type { ResultSink } from './sinks';
import { Task } from './task';

export interface BatcherOptions {
	maxBatchRows: number;
	maxWaitMs: number;
	/** Hands a closed batch to the dispatcher's queue. */
	submit: (task: Task) => void;
	/** Asks the dispatcher to run its pump soon. */
	wake: () => void;
}

/** Open batches per model version (see the file comment). */
export class Batcher {
	/** Rows in open (not yet closed) batches. */
	openRows = 0;
	/** The open batch of each version that has one, oldest first (a Map keeps insertion order). */
	private readonly open = new Map<ModelVersion, Task>();
	private nextId = 1;
	private timer: NodeJS.Timeout | undefined;

	constructor(private readonly o: BatcherOptions) {}

	/** Adds a caller's encoded rows `src[0 … n)` for version `v`. */
	add(v: ModelVersion, sink: ResultSink, src: Float32Array, n: number, explain: boolean): void {
		const max = Math.min(this.o.maxBatchRows, v.maxTaskRows);
		let row = 0;
		while (row < n) {
			let task = this.open.get(v);
			if (task === undefined) {
				task = new Task(this.nextId++, v, Math.min(max, nextPow2(Math.max(v.lastBatchRows, n - row))));
				this.open.set(v, task);
			}
			const take = Math.min(max - task.nRows, n - row);
			task.append(sink, src, row, take, explain);
			this.openRows += take;
			row += take;
			if (task.nRows >= max) this.close(v);
		}
		this.o.wake();
	}

	/**
	 * Closes and returns the oldest open batch that may leave now, at most `maxRows` of it (the rest
	 * stays open for another idle worker); when the oldest is younger than `maxWaitMs`, arms a timer
	 * to wake the dispatcher when it is due.
	 */
	takeDue(maxRows = Infinity): Task | undefined {
		const [oldest] = this.open;
		if (oldest === undefined) return undefined;
		const [v, task] = oldest;
		const wait = this.o.maxWaitMs - (performance.now() - task.createdAt);
		if (wait > 0) {
			this.timer ??= setTimeout(() => {
				this.timer = undefined;
				this.o.wake();
			}, wait);
			return undefined;
		}
		if (task.nRows > maxRows) {
			const rest = task.splitAt(maxRows, this.nextId++);
			this.openRows -= task.nRows;
			// The remainder goes to the back: versions take turns.
			this.open.delete(v);
			this.open.set(v, rest);
			return task;
		}
		return this.detach(v);
	}

	/** Closes every open batch into the dispatcher's queue (drain on close). */
	flushAll(): void {
		for (const v of [...this.open.keys()]) this.close(v);
	}

	private close(v: ModelVersion): void {
		const task = this.detach(v);
		if (task !== undefined) this.o.submit(task);
	}

	private detach(v: ModelVersion): Task | undefined {
		const task = this.open.get(v);
		this.open.delete(v);
		if (task === undefined) return undefined;
		this.openRows -= task.nRows;
		v.lastBatchRows = task.nRows;
		return task;
	}
}

function nextPow2(n: number): number {
	let p = 1;
	while (p < n) p *= 2;
	return p;
}
