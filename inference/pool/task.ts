/**
 * A task is one batch for one model version: rows from one or many callers, sent to a worker as a
 * single message. Each caller's rows form a segment; when the result comes back, each segment's
 * rows go to its caller's sink.
 */
import type { ModelVersion } from './registry';
import type { ResultSink } from './sinks';

interface Segment {
	readonly sink: ResultSink;
	/** First row of the segment in the caller's input. */
	readonly callerRow: number;
	/** First row of the segment in this task. */
	readonly taskRow: number;
	readonly count: number;
	readonly explain: boolean;
}

/** One batch for one model version, as sent to a worker. */
export class Task {
	rows: Float32Array;
	nRows = 0;
	/** 1 per row to explain; allocated when the first explained segment arrives. */
	explain: Uint8Array | null = null;
	readonly segments: Segment[] = [];
	/** Times a worker died while running this task. */
	attempts = 0;
	createdAt = performance.now();
	/** When the task started running in a worker (for latency and timeouts). */
	startedAt = 0;

	constructor(
		readonly id: number,
		readonly version: ModelVersion,
		capacityRows: number
	) {
		this.rows = version.takeRows(capacityRows * version.nCols);
	}

	get capacityRows(): number {
		return this.rows.length / this.version.nCols;
	}

	/** Appends `count` encoded rows from `src[srcRow…]`, growing the buffer if needed. */
	append(sink: ResultSink, src: Float32Array, srcRow: number, count: number, explain: boolean): void {
		const nCols = this.version.nCols;
		const need = this.nRows + count;
		if (need > this.capacityRows) this.grow(need);
		// A plain loop: for the common one-row call it beats allocating a subarray view to `set` from.
		const rows = this.rows;
		for (let i = srcRow * nCols, o = this.nRows * nCols, end = (srcRow + count) * nCols; i < end; i++, o++)
			rows[o] = src[i]!;
		if (explain) {
			this.explain ??= new Uint8Array(this.capacityRows);
			this.explain.fill(1, this.nRows, need);
		}
		this.segments.push({ sink, callerRow: srcRow, taskRow: this.nRows, count, explain });
		this.nRows = need;
	}

	/**
	 * Moves rows `[at, nRows)` into a new task (same version and age), splitting the segment that
	 * straddles `at`: lets one open batch go to several idle workers at once.
	 */
	splitAt(at: number, id: number): Task {
		const { nCols } = this.version;
		const rest = new Task(id, this.version, this.nRows - at);
		rest.createdAt = this.createdAt;
		rest.nRows = this.nRows - at;
		rest.rows.set(this.rows.subarray(at * nCols, this.nRows * nCols));
		if (this.explain !== null) rest.explain = this.explain.slice(at, this.nRows);
		const keep: Segment[] = [];
		for (const s of this.segments) {
			const end = s.taskRow + s.count;
			if (end <= at) keep.push(s);
			else if (s.taskRow >= at) rest.segments.push({ ...s, taskRow: s.taskRow - at });
			else {
				keep.push({ ...s, count: at - s.taskRow });
				rest.segments.push({ ...s, callerRow: s.callerRow + at - s.taskRow, taskRow: 0, count: end - at });
			}
		}
		this.segments.length = 0;
		this.segments.push(...keep);
		this.nRows = at;
		return rest;
	}

	/** Hands each caller its rows of `data` (layout: see `FromWorker` `result`). */
	complete(data: Float64Array): void {
		const { nRows } = this;
		let shapAt = 2 * nRows;
		for (const s of this.segments) {
			s.sink.deliver(this.version, data, nRows, s.taskRow, s.callerRow, s.count, s.explain ? shapAt : -1);
			if (s.explain) shapAt += s.count * this.version.nFeatures;
		}
	}

	fail(error: Error): void {
		for (const s of this.segments) s.sink.fail(error);
	}

	private grow(rows: number): void {
		let cap = Math.max(1, this.capacityRows);
		while (cap < rows) cap *= 2;
		const next = new Float32Array(cap * this.version.nCols);
		next.set(this.rows.subarray(0, this.nRows * this.version.nCols));
		this.rows = next;
		if (this.explain !== null) {
			const mask = new Uint8Array(cap);
			mask.set(this.explain.subarray(0, this.nRows));
			this.explain = mask;
		}
	}
}
