/**
 * The shared-memory channel between the pool and one worker: a ring of `slots` task slots in one
 * SharedArrayBuffer, and two counters. The main thread writes a batch's rows into slot
 * `submitted % slots` and increments `submitted`; the worker runs the tasks in order, writes each
 * result (or error) into the same slot and increments `completed`. Each side sleeps on the other's
 * counter only when it has nothing to do, so a busy worker takes its next batch, and a busy main
 * thread collects results, without a message or a wake-up. The worker sleeps in `Atomics.wait`
 * (it has nothing else to do; a blocked thread wakes faster and costs its waker less than an
 * `Atomics.waitAsync` promise); the main thread, which must not block, in `Atomics.waitAsync`.
 * A third counter, `control`, tells the worker that a control message (load / unload) waits on its
 * port. Nothing is serialised: rows and results are copied straight into and out of the slots.
 *
 * The main thread submits task `k` only after it has read the result of task `k - slots` (a worker
 * holds at most `slots` tasks), so a slot is never written by both sides at once. `Atomics.store`
 * of a counter publishes the plain writes made before it.
 *
 * Slot layout: rows `[nRows × nCols]` float32 from byte 0, the explain mask (one byte per row) after
 * them, then, 8-aligned, the result — float64 probabilities `[nRows]`, margins `[nRows]`, then the
 * SHAP values `[features]` of each explained row in row order — or an error as UTF-8 JSON
 * `{ name, message, code }` (never a stack).
 */
import type { SerializedError } from './messages';

/** Bytes of one slot: the largest batch is bounded by it (see {@link maxRowsPerSlot}). */
export const SLOT_BYTES = 1 << 20;
/** Header counters and flags (Int32 indices). */
const SUBMITTED = 0;
const COMPLETED = 1;
/** 1 while the worker sleeps (waits on SUBMITTED); the main thread notifies only then. */
const WORKER_WAITS = 2;
/** 1 while the main thread waits on COMPLETED; the worker notifies only then. */
const MAIN_WAITS = 3;
/** Control messages posted to the worker's port so far. */
const CONTROL = 4;
/** Per-slot descriptor, after the counters: version index, rows, columns, flags, result length. */
const DESC_AT = 8;
const DESC_INTS = 8;
const D_VERSION = 0;
const D_ROWS = 1;
const D_COLS = 2;
const D_FLAGS = 3;
/** Result length in float64s, or `-(error bytes) - 1`. */
const D_RESULT = 4;
const EXPLAIN_FLAG = 1;

/** Longest error message kept (bytes of JSON); longer ones are cut. */
const MAX_ERROR_BYTES = 4096;

/** Rows of a version that fit in one slot with every row explained. */
export function maxRowsPerSlot(nCols: number, nFeatures: number): number {
	const room = SLOT_BYTES - 8 - MAX_ERROR_BYTES;
	return Math.max(1, Math.floor(room / (4 * nCols + 1 + 8 * (2 + nFeatures))));
}

/** A task as the worker reads it from its slot (views into shared memory). */
export interface SlotTask {
	version: number;
	nRows: number;
	rows: Float32Array;
	explain: Uint8Array | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One worker's channel; both threads build one over the same buffer. */
export class Channel {
	private readonly header: Int32Array;
	private readonly f32: Float32Array;
	private readonly f64: Float64Array;
	private readonly u8: Uint8Array;
	private readonly dataAt: number;

	constructor(
		readonly buffer: SharedArrayBuffer,
		readonly slots: number
	) {
		this.header = new Int32Array(buffer, 0, DESC_AT + DESC_INTS * slots);
		this.dataAt = align(this.header.byteLength, 64);
		this.f32 = new Float32Array(buffer);
		this.f64 = new Float64Array(buffer);
		this.u8 = new Uint8Array(buffer);
	}

	static create(slots: number): Channel {
		const headerBytes = align(4 * (DESC_AT + DESC_INTS * slots), 64);
		return new Channel(new SharedArrayBuffer(headerBytes + slots * SLOT_BYTES), slots);
	}

	get submitted(): number {
		return Atomics.load(this.header, SUBMITTED);
	}

	get completed(): number {
		return Atomics.load(this.header, COMPLETED);
	}

	/** Control messages announced so far (see {@link announceControl}). */
	get control(): number {
		return Atomics.load(this.header, CONTROL);
	}

	// --- main thread ----------------------------------------------------------------------------

	/** Writes task number `seq` (the next to submit) into its slot and wakes the worker if it sleeps. */
	submit(
		seq: number,
		version: number,
		rows: Float32Array,
		nRows: number,
		nCols: number,
		explain: Uint8Array | null
	): void {
		const slot = seq % this.slots;
		const at = this.dataAt + slot * SLOT_BYTES;
		const n = nRows * nCols;
		this.f32.set(n === rows.length ? rows : rows.subarray(0, n), at >> 2);
		if (explain !== null) this.u8.set(explain.subarray(0, nRows), at + 4 * n);
		const d = DESC_AT + slot * DESC_INTS;
		this.header[d + D_VERSION] = version;
		this.header[d + D_ROWS] = nRows;
		this.header[d + D_COLS] = nCols;
		this.header[d + D_FLAGS] = explain === null ? 0 : EXPLAIN_FLAG;
		Atomics.store(this.header, SUBMITTED, seq + 1);
		// A worker that is running tasks reads `submitted` before it sleeps: no wake-up needed.
		if (Atomics.load(this.header, WORKER_WAITS) === 1) Atomics.notify(this.header, SUBMITTED);
	}

	/**
	 * The result of task `seq` (already completed): a view into its slot, valid until the slot is
	 * written again, or the worker's error.
	 */
	result(seq: number): Float64Array | SerializedError {
		const slot = seq % this.slots;
		const length = this.header[DESC_AT + slot * DESC_INTS + D_RESULT] ?? 0;
		const out = this.outputAt(slot);
		if (length >= 0) return this.f64.subarray(out >> 3, (out >> 3) + length);
		const bytes = this.u8.slice(out, out - length - 1);
		try {
			return JSON.parse(decoder.decode(bytes)) as SerializedError;
		} catch {
			return { name: 'Error', message: 'unreadable error from an inference worker' };
		}
	}

	/** Resolves when `completed` moves past `seen`; null if it already has. */
	waitCompleted(seen: number): Promise<unknown> | null {
		return sleep(this.header, MAIN_WAITS, COMPLETED, seen);
	}

	/** Wakes this thread's own waiter on `completed` (when its worker is gone). */
	release(): void {
		Atomics.notify(this.header, COMPLETED);
	}

	/** Tells the worker that a control message was posted to its port, waking it if it sleeps. */
	announceControl(): void {
		Atomics.add(this.header, CONTROL, 1);
		Atomics.notify(this.header, SUBMITTED);
	}

	// --- worker ---------------------------------------------------------------------------------

	/**
	 * Blocks this (worker) thread until `submitted` moves past `seen`, a control message is
	 * announced, or `timeoutMs` passes. Returns at once if `submitted` has already moved.
	 */
	waitSubmittedBlocking(seen: number, timeoutMs: number): void {
		Atomics.store(this.header, WORKER_WAITS, 1);
		Atomics.wait(this.header, SUBMITTED, seen, timeoutMs);
		Atomics.store(this.header, WORKER_WAITS, 0);
	}

	/** Task number `seq` as views into its slot. */
	task(seq: number): SlotTask {
		const slot = seq % this.slots;
		const d = DESC_AT + slot * DESC_INTS;
		const nRows = this.header[d + D_ROWS] ?? 0;
		const at = this.dataAt + slot * SLOT_BYTES;
		const n = nRows * (this.header[d + D_COLS] ?? 0);
		const explained = ((this.header[d + D_FLAGS] ?? 0) & EXPLAIN_FLAG) !== 0;
		return {
			version: this.header[d + D_VERSION] ?? 0,
			nRows,
			rows: this.f32.subarray(at >> 2, (at >> 2) + n),
			explain: explained ? this.u8.subarray(at + 4 * n, at + 4 * n + nRows) : null
		};
	}

	/** Writes task `seq`'s result and publishes it. */
	complete(seq: number, data: Float64Array): void {
		const slot = seq % this.slots;
		const out = this.outputAt(slot);
		if (8 * data.length > this.dataAt + (slot + 1) * SLOT_BYTES - out) {
			this.fail(seq, { name: 'Error', message: `a result of ${data.length} values exceeds its slot` });
			return;
		}
		this.f64.set(data, out >> 3);
		this.header[DESC_AT + slot * DESC_INTS + D_RESULT] = data.length;
		this.publish(seq);
	}

	/** Writes task `seq`'s error and publishes it. */
	fail(seq: number, error: SerializedError): void {
		const slot = seq % this.slots;
		const out = this.outputAt(slot);
		let json = encoder.encode(JSON.stringify(error));
		if (json.length > MAX_ERROR_BYTES) {
			const cut = { ...error, message: error.message.slice(0, MAX_ERROR_BYTES / 4) };
			json = encoder.encode(JSON.stringify(cut));
		}
		this.u8.set(json, out);
		this.header[DESC_AT + slot * DESC_INTS + D_RESULT] = -json.length - 1;
		this.publish(seq);
	}

	/** Byte offset of slot `slot`'s result: after its rows and explain mask, 8-aligned. */
	private outputAt(slot: number): number {
		const d = DESC_AT + slot * DESC_INTS;
		const nRows = this.header[d + D_ROWS] ?? 0;
		const nCols = this.header[d + D_COLS] ?? 0;
		return this.dataAt + slot * SLOT_BYTES + align(4 * nRows * nCols + nRows, 8);
	}

	private publish(seq: number): void {
		Atomics.store(this.header, COMPLETED, seq + 1);
		if (Atomics.load(this.header, MAIN_WAITS) === 1) Atomics.notify(this.header, COMPLETED);
	}
}

/**
 * Waits for `header[counter]` to leave `seen`, raising `header[flag]` while it does so that the
 * other side notifies. The flag is raised before the counter is checked (by `waitAsync`, or
 * `Atomics.wait` in {@link Channel.waitSubmittedBlocking}) and the other side stores the counter
 * before it reads the flag: with sequentially consistent atomics, either this side sees the new
 * value or the other side sees the flag — a wake-up is never lost.
 */
function sleep(header: Int32Array, flag: number, counter: number, seen: number): Promise<unknown> | null {
	Atomics.store(header, flag, 1);
	const w = Atomics.waitAsync(header, counter, seen);
	if (!w.async) {
		Atomics.store(header, flag, 0);
		return null;
	}
	return w.value.then(() => Atomics.store(header, flag, 0));
}

function align(n: number, to: number): number {
	return Math.ceil(n / to) * to;
}
