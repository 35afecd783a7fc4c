/**
 * Group commit for predictions: callers hand over rows and wait; rows from many concurrent
 * requests are written by one multi-row INSERT (one transaction), flushed after a short delay or
 * as soon as enough rows are waiting. A caller's promise resolves only once its row is committed,
 * so an acknowledged decision is never lost, while the database sees a few large statements per
 * millisecond instead of one small transaction per request.
 */
import { getTableColumns, sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../db';
import { predictions, type NewPrediction } from '../db/schema';

export interface WriterOptions {
	/** Rows per INSERT at most (PostgreSQL allows 65,535 parameters; a row uses ~20). */
	maxRows: number;
	/** How long the first waiting row may wait for company, in milliseconds. */
	maxDelayMs: number;
	/** INSERT statements in flight at once (each holds one pool connection). */
	maxInFlight: number;
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

interface Pending {
	row: NewPrediction;
	resolve: (outcome: WriteOutcome) => void;
	reject: (error: Error) => void;
}

const DEFAULTS: WriterOptions = { maxRows: 250, maxDelayMs: 2, maxInFlight: 4 };

export class PredictionWriter {
	readonly #db: Database;
	readonly #options: WriterOptions;
	#queue: Pending[] = [];
	#timer: NodeJS.Timeout | undefined;
	#inFlight = 0;
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
	}

	/** Records one prediction; resolves once it is committed. */
	write(row: NewPrediction): Promise<WriteOutcome> {
		if (this.#closed) return Promise.reject(new PersistenceError('The prediction writer is closed.'));
		return new Promise<WriteOutcome>((resolve, reject) => {
			this.#queue.push({ row, resolve, reject });
			this.#schedule();
		});
	}

	/** Records many predictions; resolves once all are committed. */
	writeMany(rows: readonly NewPrediction[]): Promise<WriteOutcome[]> {
		return Promise.all(rows.map((row) => this.write(row)));
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
		while (this.#queue.length > 0 && this.#inFlight < this.#options.maxInFlight) {
			const batch = this.#queue.splice(0, this.#options.maxRows);
			void this.#flush(batch);
		}
		// Rows left behind (all connections busy) are picked up when a flush finishes.
	}

	async #flush(batch: Pending[]): Promise<void> {
		this.#inFlight += 1;
		const started = performance.now();
		let ok = true;
		try {
			const written = rowsOf<{ id: string }>(await this.#db.execute(insertStatement(batch)));
			const ids = new Set(written.map((row) => row.id));
			for (const pending of batch) pending.resolve(ids.has(pending.row.id) ? 'written' : 'duplicate');
			this.#stats.rowsWritten += written.length;
		} catch (error) {
			ok = false;
			this.#stats.failures += 1;
			const failure = new PersistenceError(
				'The decision could not be recorded; the database is unavailable.',
				{
					cause: error
				}
			);
			for (const pending of batch) pending.reject(failure);
		} finally {
			const ms = performance.now() - started;
			this.#inFlight -= 1;
			this.#stats.flushes += 1;
			this.#stats.lastFlushRows = batch.length;
			this.#stats.lastFlushMs = ms;
			this.onFlush?.(batch.length, ms, ok);
			if (this.#queue.length > 0) this.#drain();
			if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
		}
	}
}

/** TypeScript property → column name of every column of `predictions`. */
const COLUMNS = Object.entries(getTableColumns(predictions)).map(
	([key, column]) => [key, column.name] as const
);

/**
 * One INSERT for the whole batch with a single JSON parameter expanded by
 * `json_populate_recordset`: measured 2–3× faster for 1,000 rows than binding ~20,000 separate
 * parameters, and within PostgreSQL's parameter limit whatever the batch size. Columns are listed
 * explicitly, so their order in the table does not matter.
 */
function insertStatement(batch: readonly Pending[]) {
	const now = new Date();
	const records = batch.map(({ row }) => {
		const record: Record<string, unknown> = {};
		for (const [key, name] of COLUMNS) {
			const value = key === 'createdAt' ? (row.createdAt ?? now) : row[key as keyof NewPrediction];
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

/** Bytes in PostgreSQL's hex text form (`\x…`), which a `bytea` column reads. */
function byteaText(bytes: Uint8Array): string {
	return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** Counts stored predictions (used by tests and the API benchmark to check nothing was lost). */
export async function countPredictions(db: Database): Promise<number> {
	const result = await db.execute(sql`select count(*)::int as n from ${predictions}`);
	return rowsOf<{ n: number }>(result)[0]?.n ?? 0;
}
