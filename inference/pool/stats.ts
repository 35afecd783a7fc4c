/**
 * Counters of the pool, read by the observability layer (Prometheus): cumulative counts only
 * grow, gauges are read at scrape time from the pool's state.
 */

/** Upper bounds of the batch-size histogram buckets (rows); the last bucket is +Inf. */
export const BATCH_SIZE_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096] as const;

export interface PoolStats {
	/** Worker threads alive (starting or ready). */
	workers: number;
	/** Workers with at least one task running. */
	busyWorkers: number;
	/** Rows waiting for a worker (open batches + queued tasks): what `maxQueue` bounds. */
	queuedRows: number;
	queuedTasks: number;
	inFlightRows: number;
	inFlightTasks: number;
	/** Each live worker: its id, state, tasks running or queued in it, and what it answered. */
	perWorker: {
		id: number;
		state: string;
		inFlightTasks: number;
		completedTasks: number;
		completedRows: number;
	}[];
	/** Recent throughput (rows per second, over the last few seconds). */
	rowsPerSecond: number;
	/** Cumulative counters. */
	counters: {
		completedRows: number;
		completedTasks: number;
		failedRows: number;
		modelErrors: number;
		overloaded: number;
		crashes: number;
		timeouts: number;
		retries: number;
		restarts: number;
	};
	/** Rows per batch sent to workers: cumulative counts per bucket of {@link BATCH_SIZE_BOUNDS}, +Inf last. */
	batchSizes: { bounds: readonly number[]; counts: number[]; sum: number; count: number };
	models: { key: string; id: string; version: string; active: boolean; state: string; pendingRows: number }[];
}

/** Every counter of a pool at zero. */
export function emptyPoolCounters(): PoolStats['counters'] {
	return {
		completedRows: 0,
		completedTasks: 0,
		failedRows: 0,
		modelErrors: 0,
		overloaded: 0,
		crashes: 0,
		timeouts: 0,
		retries: 0,
		restarts: 0
	};
}

/** The pool's counters and batch-size histogram, updated by the dispatcher. */
export class StatsRecorder {
	readonly counters: PoolStats['counters'] = emptyPoolCounters();
	readonly batchCounts = new Array<number>(BATCH_SIZE_BOUNDS.length + 1).fill(0);
	batchRowSum = 0;
	batchCount = 0;
	private windowStart = performance.now();
	private windowRows = 0;
	private rate = 0;

	recordBatch(rows: number): void {
		let i = 0;
		while (i < BATCH_SIZE_BOUNDS.length && rows > (BATCH_SIZE_BOUNDS[i] ?? Infinity)) i++;
		this.batchCounts[i] = (this.batchCounts[i] ?? 0) + 1;
		this.batchRowSum += rows;
		this.batchCount += 1;
	}

	recordCompleted(rows: number): void {
		this.counters.completedRows += rows;
		this.counters.completedTasks += 1;
		this.windowRows += rows;
	}

	/** Throughput over a window of ~2 s, for `Retry-After` hints and the stats. */
	rowsPerSecond(): number {
		const now = performance.now();
		const elapsed = now - this.windowStart;
		if (elapsed >= 2000) {
			this.rate = (this.windowRows * 1000) / elapsed;
			this.windowStart = now;
			this.windowRows = 0;
		}
		return this.rate > 0 ? this.rate : elapsed > 0 ? (this.windowRows * 1000) / elapsed : 0;
	}
}
