/**
 * Group commit for predictions: callers hand over rows and wait; rows from many concurrent
 * requests are written by one multi-row INSERT (one transaction), flushed after a short delay or
 * as soon as enough rows are waiting. A caller's promise resolves only once its row is committed,
 * so an acknowledged decision is never lost, while the database sees a few large statements per
 * millisecond instead of one small transaction per request.
 *
 * On PostgreSQL, rows without an idempotency key go in by COPY (`db/copy-in.ts`), PostgreSQL's bulk
 * path; rows with one by an INSERT … ON CONFLICT DO NOTHING, which tells a duplicate key from a
 * new row. On PGlite, every row goes by INSERT.
 */
import { getTableColumns, getTableName, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { rowsOf, type Database } from '../db';
import { BinaryCopyEncoder, columnKind } from '../db/copy-binary';
import type { CopyIn } from '../db/copy-in';
import { predictions, type NewPrediction } from '../db/schema';

export interface WriterOptions {
	/** Rows per INSERT at most (PostgreSQL allows 65,535 parameters; a row uses ~20). */
	maxRows: number;
	/** How long the first waiting row may wait for company, in milliseconds. */
	maxDelayMs: number;
	/** Flushes in flight at once (each holds a connection or two: COPY and INSERT). */
	maxInFlight: number;
	/** COPY FROM STDIN (PostgreSQL); without it, every row goes by INSERT. */
	copyIn?: CopyIn;
	/**
	 * A statement to run in the same transaction as the rows written (each with its `createdAt`
	 * set), or undefined for none: how `drift_counts` stays exact (services/drift-counting.ts).
	 * `slot` (0 to 2 · maxInFlight − 1) is the transaction's own among those in flight, for
	 * statements that would otherwise make concurrent flushes wait on the same rows.
	 */
	alongside?: (written: readonly NewPrediction[], slot: number) => SQL | undefined;
	/**
	 * How long a caller waits for its rows to be committed, in milliseconds (0: no bound). Past it
	 * the call fails with {@link PersistenceError} (a 503), its rows still waiting are dropped, and
	 * each statement of a flush runs under a `statement_timeout` of the same length, so that a
	 * database too slow to take writes (locks, an exhausted server) answers within a bounded time.
	 */
	timeoutMs?: number;
}

export interface WriterStats {
	flushes: number;
	rowsWritten: number;
	lastFlushRows: number;
	lastFlushMs: number;
	pendingRows: number;
	failures: number;
}

/** What the writer tells each caller: written, or already present under the same idempotency key. */
export type WriteOutcome = 'written' | 'duplicate';

/** The database refused or did not answer; the rows were not recorded. */
export class PersistenceError extends Error {
	override name = 'PersistenceError';
	readonly code = 'PERSISTENCE_UNAVAILABLE';
}

/** One caller's rows: settled once every row is written, at the first failure, or at its deadline. */
class Call {
	readonly outcomes: WriteOutcome[];
	#left: number;
	#settled = false;
	#timer: NodeJS.Timeout | undefined;

	constructor(
		rows: number,
		private readonly done: (outcomes: WriteOutcome[]) => void,
		private readonly fail: (error: Error) => void,
		timeoutMs: number
	) {
		this.outcomes = new Array<WriteOutcome>(rows);
		this.#left = rows;
		if (timeoutMs > 0) {
			this.#timer = setTimeout(
				() =>
					this.reject(
						new PersistenceError(
							`The decision could not be recorded within ${timeoutMs} ms; the database is too slow or unavailable.`
						)
					),
				timeoutMs
			);
		}
	}

	get settled(): boolean {
		return this.#settled;
	}

	resolve(index: number, outcome: WriteOutcome): void {
		this.outcomes[index] = outcome;
		this.#left -= 1;
		if (this.#left === 0 && !this.#settled) {
			this.#settled = true;
			clearTimeout(this.#timer);
			this.done(this.outcomes);
		}
	}

	reject(error: Error): void {
		if (this.#settled) return;
		this.#settled = true;
		clearTimeout(this.#timer);
		this.fail(error);
	}
}

/** A row waiting for its group commit, and where its outcome goes (one object per row, no promise). */
interface Pending {
	row: NewPrediction;
	call: Call;
	index: number;
}

const DEFAULTS: WriterOptions = { maxRows: 250, maxDelayMs: 2, maxInFlight: 4 };

export class PredictionWriter {
	readonly #db: Database;
	readonly #options: WriterOptions;
	#queue: Pending[] = [];
	#timer: NodeJS.Timeout | undefined;
	#inFlight = 0;
	/** Slots of flushes not in flight: each flush holds one, so no two flushes of this writer share one. */
	readonly #freeSlots: number[];
	#closed = false;
	#idle: (() => void)[] = [];
	readonly #stats: WriterStats = {
		flushes: 0,
		rowsWritten: 0,
		lastFlushRows: 0,
		lastFlushMs: 0,
		pendingRows: 0,
		failures: 0
	};
	/** Called after each flush (for metrics). */
	onFlush?: (rows: number, ms: number, ok: boolean) => void;

	constructor(db: Database, options: Partial<WriterOptions> = {}) {
		this.#db = db;
		this.#options = { ...DEFAULTS, ...options };
		this.#freeSlots = Array.from({ length: this.#options.maxInFlight }, (_, i) => i);
	}

	/** Records one prediction; resolves once it is committed. */
	write(row: NewPrediction): Promise<WriteOutcome> {
		return new Promise<WriteOutcome>((resolve, reject) =>
			this.#enqueue([row], (outcomes) => resolve(outcomes[0] ?? 'written'), reject)
		);
	}

	/**
	 * Records many predictions; resolves once all are committed, with each row's outcome, or rejects
	 * at the first that could not be. One promise for the call, however many rows.
	 */
	writeMany(rows: readonly NewPrediction[]): Promise<WriteOutcome[]> {
		return new Promise<WriteOutcome[]>((resolve, reject) => this.#enqueue(rows, resolve, reject));
	}

	stats(): WriterStats {
		return { ...this.#stats, pendingRows: this.#queue.length };
	}

	/** Writes what is waiting, then refuses new rows. */
	async close(): Promise<void> {
		this.#closed = true;
		clearTimeout(this.#timer);
		while (this.#queue.length > 0 || this.#inFlight > 0) {
			this.#drain();
			if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
		}
	}

	#enqueue(
		rows: readonly NewPrediction[],
		done: (outcomes: WriteOutcome[]) => void,
		fail: (error: Error) => void
	): void {
		if (this.#closed) return fail(new PersistenceError('The prediction writer is closed.'));
		if (rows.length === 0) return done([]);
		const call = new Call(rows.length, done, fail, this.#options.timeoutMs ?? 0);
		rows.forEach((row, index) => this.#queue.push({ row, call, index }));
		this.#schedule();
	}

	#schedule(): void {
		if (this.#queue.length >= this.#options.maxRows) {
			this.#drain();
		} else if (!this.#timer) {
			this.#timer = setTimeout(() => {
				this.#timer = undefined;
				this.#drain();
			}, this.#options.maxDelayMs);
		}
	}

	#drain(): void {
		// Rows of callers already answered (their deadline passed) are not written.
		if (this.#queue.some((pending) => pending.call.settled))
			this.#queue = this.#queue.filter((pending) => !pending.call.settled);
		while (this.#queue.length > 0 && this.#inFlight < this.#options.maxInFlight) {
			const batch = this.#queue.splice(0, this.#options.maxRows);
			void this.#flush(batch);
		}
		// Rows left behind (all connections busy) are picked up when a flush finishes.
	}

	async #flush(batch: Pending[]): Promise<void> {
		this.#inFlight += 1;
		const slot = this.#freeSlots.pop() ?? 0;
		const started = performance.now();
		const { copyIn } = this.#options;
		const copied = copyIn ? batch.filter((pending) => !pending.row.idempotencyKey) : [];
		const inserted = copied.length > 0 ? batch.filter((pending) => pending.row.idempotencyKey) : batch;
		// Two transactions at most, each answering its own rows: a failure of one never fails the other's.
		// One time for the whole flush: the rows' `createdAt` and what is counted alongside agree.
		const now = new Date();
		const outcomes = await Promise.allSettled([
			// The INSERT and the COPY of one flush run at once: each its own slot.
			inserted.length > 0 ? this.#insert(inserted, now, slot + this.#options.maxInFlight) : Promise.resolve(),
			copyIn && copied.length > 0 ? this.#copy(copyIn, copied, now, slot) : Promise.resolve()
		]);
		const ok = outcomes.every((outcome) => outcome.status === 'fulfilled');
		const ms = performance.now() - started;
		this.#inFlight -= 1;
		this.#freeSlots.push(slot);
		this.#stats.flushes += 1;
		if (!ok) this.#stats.failures += 1;
		this.#stats.lastFlushRows = batch.length;
		this.#stats.lastFlushMs = ms;
		this.onFlush?.(batch.length, ms, ok);
		if (this.#queue.length > 0) this.#drain();
		if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
	}

	/** INSERTs rows that may repeat an earlier idempotency key: each is written or a duplicate. */
	async #insert(batch: readonly Pending[], now: Date, slot: number): Promise<void> {
		try {
			const { alongside, timeoutMs } = this.#options;
			const statement = insertStatement(batch, now);
			const written =
				alongside || timeoutMs
					? await this.#db.transaction(async (tx) => {
							if (timeoutMs) await tx.execute(statementTimeout(timeoutMs));
							const ids = rowsOf<{ id: string }>(await tx.execute(statement));
							const fresh = new Set(ids.map((row) => row.id));
							const also = alongside?.(
								withTimes(
									batch.filter(({ row }) => fresh.has(row.id)),
									now
								),
								slot
							);
							if (also) await tx.execute(also);
							return ids;
						})
					: rowsOf<{ id: string }>(await this.#db.execute(statement));
			const ids = new Set(written.map((row) => row.id));
			for (const { row, call, index } of batch)
				call.resolve(index, ids.has(row.id) ? 'written' : 'duplicate');
			this.#stats.rowsWritten += written.length;
		} catch (error) {
			throw rejectAll(batch, error);
		}
	}

	/** COPYs rows without an idempotency key (a random UUID each: no conflict to look for). */
	async #copy(copyIn: CopyIn, batch: readonly Pending[], now: Date, slot: number): Promise<void> {
		try {
			const also = this.#options.alongside?.(withTimes(batch, now), slot);
			await copyIn.copyIn(
				COPY_STATEMENT,
				copyData(batch, now),
				also && statementOf(also),
				this.#options.timeoutMs
			);
			for (const { call, index } of batch) call.resolve(index, 'written');
			this.#stats.rowsWritten += batch.length;
		} catch (error) {
			throw rejectAll(batch, error);
		}
	}
}

/** `SET LOCAL statement_timeout` for the transaction (SET takes no parameters: a whole number here). */
function statementTimeout(ms: number): SQL {
	return sql.raw(`set local statement_timeout = ${Math.max(1, Math.round(ms))}`);
}

/** Fails every caller of `batch`: their rows were not recorded. Returns the error given to them. */
function rejectAll(batch: readonly Pending[], cause: unknown): PersistenceError {
	const failure = new PersistenceError('The decision could not be recorded; the database is unavailable.', {
		cause
	});
	for (const { call } of batch) call.reject(failure);
	return failure;
}

/** TypeScript property → column name of every column of `predictions`. */
const COLUMNS = Object.entries(getTableColumns(predictions)).map(
	([key, column]) => [key, column.name] as const
);

/** A row's value for one column, as both ways in write it: `createdAt` defaults to the flush's time. */
function cellOf(row: NewPrediction, key: string, now: Date): unknown {
	return key === 'createdAt' ? (row.createdAt ?? now) : row[key as keyof NewPrediction];
}

/**
 * One INSERT for the whole batch with a single JSON parameter expanded by
 * `json_populate_recordset`: measured 2–3× faster for 1,000 rows than binding ~20,000 separate
 * parameters, and within PostgreSQL's parameter limit whatever the batch size. Columns are listed
 * explicitly, so their order in the table does not matter.
 */
function insertStatement(batch: readonly Pending[], now: Date) {
	const records = batch.map(({ row }) => {
		const record: Record<string, unknown> = {};
		for (const [key, name] of COLUMNS) {
			const value = cellOf(row, key, now);
			record[name] =
				value instanceof Date
					? value.toISOString()
					: value instanceof Uint8Array
						? byteaText(value)
						: (value ?? null);
		}
		return record;
	});
	const names = sql.raw(COLUMNS.map(([, name]) => `"${name}"`).join(', '));
	return sql`insert into ${predictions} (${names})
		select ${names} from json_populate_recordset(null::${predictions}, ${JSON.stringify(records)}::json)
		on conflict do nothing returning id`;
}

const COPY_STATEMENT = `copy "${getTableName(predictions)}" (${COLUMNS.map(([, name]) => `"${name}"`).join(', ')}) from stdin (format binary)`;

/** COPY's binary form of each column, in {@link COLUMNS}' order. */
const COPY_ENCODER = new BinaryCopyEncoder(Object.values(getTableColumns(predictions)).map(columnKind));

/**
 * Rows in COPY's binary format. Numbers that are not finite are null, as in the JSON of
 * {@link insertStatement}, so that both paths store or refuse them alike (a NOT NULL column refuses
 * the row).
 */
function copyData(batch: readonly Pending[], now: Date): Buffer {
	return COPY_ENCODER.encode(batch, ({ row }, i) =>
		cellOf(row, (COLUMNS[i] as (typeof COLUMNS)[number])[0], now)
	);
}

/** Compiles a statement for node-postgres (COPY's connection), `$1`-style as PostgreSQL takes it. */
const DIALECT = new PgDialect();

function statementOf(query: SQL): { text: string; params: unknown[] } {
	const compiled = DIALECT.sqlToQuery(query);
	return { text: compiled.sql, params: compiled.params };
}

/** The rows as written: `createdAt` set to the flush's time where the caller left it out. */
function withTimes(batch: readonly Pending[], now: Date): NewPrediction[] {
	return batch.map(({ row }) => (row.createdAt ? row : { ...row, createdAt: now }));
}

/** Bytes in PostgreSQL's hex text form (`\x…`), which a `bytea` column reads. */
function byteaText(bytes: Uint8Array): string {
	return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** Counts stored predictions (used by tests and the API benchmark to check nothing was lost). */
export async function countPredictions(db: Database): Promise<number> {
	const result = await db.execute(sql`select count(*)::int as n from ${predictions}`);
	return rowsOf<{ n: number }>(result)[0]?.n ?? 0;
}
