/**
 * The backtest runner of one instance (docs/models.md, "Backtest"). Every instance runs one; each
 * looks for work every `pollMs` (and at once when a backtest is queued here) and claims one row
 * with a conditional `UPDATE … RETURNING`: a queued backtest, or a running one whose heartbeat is
 * older than `staleMs` (its instance stopped). Under PostgreSQL's row locks only one concurrent
 * claim matches, so exactly one instance runs a backtest.
 *
 * The claimed backtest's applications are read in `(created_at, id)` order after the stored
 * cursor, `chunkRows` at a time, scored with the candidate (with SHAP) in the inference pool and
 * written in one transaction with the progress (`done`, `skipped`, the cursor, the heartbeat). That
 * update only matches while the row is still this instance's and running: an instance that lost
 * its claim (taken over, cancelled) writes nothing, and a resumed run starts after the last chunk
 * written, so no application is scored into the results twice (the unique index on
 * `(backtest_id, prediction_id)` holds it as well).
 */
import { and, asc, eq, gte, inArray, lt, or, sql } from 'drizzle-orm';
import type { RawApplicant } from '$inference/manifest';
import { decisionFor } from '$inference/decision/policy';
import type { Database } from '../db';
import { backtestPredictions, backtests, predictions, type BacktestRow } from '../db/schema';
import { logger } from '../logger';
import type { ModelRegistry, ModelVersion } from './models.service';
import type { ScoringEngine } from './scoring/types';
import { encodeShap } from './stored-shap';

export interface BacktestRunnerOptions {
	/** Applications scored and written at once. */
	chunkRows: number;
	/** How often to look for a backtest to run, in ms. */
	pollMs: number;
	/** A running backtest without progress for this long may be taken over, in ms. */
	staleMs: number;
	/** The runner waits while more rows than this wait for an inference worker. */
	yieldAboveQueuedRows: number;
}

export interface BacktestRunnerDeps {
	db: Database;
	models: ModelRegistry;
	engine: ScoringEngine;
	/** This instance's name, stored with the backtests it runs. */
	instance: string;
	/** Rows waiting for an inference worker now. */
	queuedRows: () => number;
	clock?: () => number;
}

/** What one claimed run did. */
export interface RunReport {
	id: string;
	/** Applications scored here (sent to the pool). */
	scored: number;
	/** completed, failed, or stopped: the claim was lost, the chunk limit reached, or the runner stopped. */
	ended: 'completed' | 'failed' | 'stopped';
}

/** Longest error text kept with a failed backtest. */
const ERROR_LENGTH = 500;
/** How long the runner waits before looking again at a busy pool, in ms. */
const YIELD_MS = 5;

/** The claim was lost between chunks: taken over by another instance, or cancelled. */
class ClaimLost extends Error {}

export class BacktestRunner {
	readonly #deps: BacktestRunnerDeps;
	readonly #options: BacktestRunnerOptions;
	readonly #clock: () => number;
	#timer: ReturnType<typeof setInterval> | null = null;
	#running: Promise<unknown> | null = null;
	#again = false;
	#stopped = false;

	constructor(deps: BacktestRunnerDeps, options: BacktestRunnerOptions) {
		this.#deps = deps;
		this.#options = options;
		this.#clock = deps.clock ?? Date.now;
	}

	get instance(): string {
		return this.#deps.instance;
	}

	start(): void {
		if (this.#timer) return;
		this.#stopped = false;
		this.#timer = setInterval(() => this.poke(), this.#options.pollMs);
		this.#timer.unref?.();
		this.poke();
	}

	/** Looks for work now (after the run under way, if any). */
	poke(): void {
		if (this.#stopped) return;
		if (this.#running) {
			this.#again = true;
			return;
		}
		this.#running = this.#drain()
			.catch((error: unknown) => logger.error({ err: error }, 'backtest runner stopped on an error'))
			.finally(() => {
				this.#running = null;
				if (this.#again && !this.#stopped) {
					this.#again = false;
					this.poke();
				}
			});
	}

	/** Resolves once nothing is being run (tests). */
	async idle(): Promise<void> {
		while (this.#running) await this.#running;
	}

	/** Stops looking and ends the run under way after its current chunk (it can be resumed later). */
	async stop(): Promise<void> {
		this.#stopped = true;
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
		await this.idle();
	}

	async #drain(): Promise<void> {
		this.#again = false;
		while (!this.#stopped && (await this.runNext()) !== null);
	}

	/**
	 * Claims one backtest and runs it: to the end, or for at most `maxChunks` chunks (then it stays
	 * `running` under this instance's claim, as when an instance stops). Null when none was free.
	 */
	async runNext(limit: { maxChunks?: number } = {}): Promise<RunReport | null> {
		const claimed = await this.claim();
		if (!claimed) return null;
		return this.#run(claimed, limit.maxChunks ?? Infinity);
	}

	/** Claims a queued backtest, or a running one whose heartbeat is stale; null when none is free. */
	async claim(): Promise<BacktestRow | null> {
		const { db } = this.#deps;
		const now = new Date(this.#clock());
		const staleBefore = new Date(now.getTime() - this.#options.staleMs);
		const takeable = or(
			eq(backtests.status, 'queued'),
			and(eq(backtests.status, 'running'), lt(backtests.heartbeatAt, staleBefore))
		);
		const next = db
			.select({ id: backtests.id })
			.from(backtests)
			.where(takeable)
			.orderBy(asc(backtests.createdAt))
			.limit(1);
		const [row] = await db
			.update(backtests)
			.set({
				status: 'running',
				instance: this.#deps.instance,
				startedAt: sql`coalesce(${backtests.startedAt}, ${now.toISOString()}::timestamptz)`,
				heartbeatAt: now
			})
			.where(and(inArray(backtests.id, next), takeable))
			.returning();
		return row ?? null;
	}

	async #run(row: BacktestRow, maxChunks: number): Promise<RunReport> {
		const report: RunReport = { id: row.id, scored: 0, ended: 'stopped' };
		let candidate: ModelVersion;
		try {
			candidate = this.#deps.models.resolve(row.modelId, row.version);
		} catch (error) {
			await this.#finish(row.id, 'failed', (error as Error).message);
			return { ...report, ended: 'failed' };
		}
		logger.info({ backtest: row.id, model: candidate.key, done: row.done }, 'backtest running');
		let cursor = row.cursor;
		try {
			for (let chunk = 0; chunk < maxChunks; chunk++) {
				if (this.#stopped) return report;
				const batch = await this.#nextChunk(row, cursor);
				if (batch.length === 0) {
					const ended = await this.#finish(row.id, 'completed', null);
					return { ...report, ended: ended ? 'completed' : 'stopped' };
				}
				while (!this.#stopped && this.#deps.queuedRows() > this.#options.yieldAboveQueuedRows) {
					await new Promise((resolve) => setTimeout(resolve, YIELD_MS));
				}
				report.scored += await this.#score(row.id, candidate, batch);
				cursor = batch.at(-1)?.id ?? cursor;
			}
			return report;
		} catch (error) {
			if (error instanceof ClaimLost) {
				logger.info({ backtest: row.id }, 'backtest claim lost (taken over or cancelled)');
				return report;
			}
			logger.warn({ err: error, backtest: row.id }, 'backtest failed');
			await this.#finish(row.id, 'failed', (error as Error).message ?? String(error));
			return { ...report, ended: 'failed' };
		}
	}

	/** The next applications of the period after the cursor, in `(created_at, id)` order. */
	async #nextChunk(row: BacktestRow, cursor: string | null): Promise<{ id: string; input: RawApplicant }[]> {
		const after = cursor
			? sql`(${predictions.createdAt}, ${predictions.id}) > (select p.created_at, p.id from predictions p where p.id = ${cursor})`
			: undefined;
		return this.#deps.db
			.select({ id: predictions.id, input: predictions.input })
			.from(predictions)
			.where(
				and(
					eq(predictions.modelId, row.modelId),
					gte(predictions.createdAt, row.from),
					lt(predictions.createdAt, row.to),
					after
				)
			)
			.orderBy(asc(predictions.createdAt), asc(predictions.id))
			.limit(this.#options.chunkRows);
	}

	/** Scores one chunk and writes its results with the progress, if the claim still holds. */
	async #score(
		id: string,
		candidate: ModelVersion,
		batch: { id: string; input: RawApplicant }[]
	): Promise<number> {
		const valid: { id: string; applicant: RawApplicant }[] = [];
		for (const item of batch) {
			const applicant = candidate.checkApplicant(item.input);
			if (applicant) valid.push({ id: item.id, applicant });
		}
		const scored =
			valid.length > 0
				? await this.#deps.engine.run(
						candidate,
						valid.map((v) => v.applicant)
					)
				: [];
		const { cutoffs } = candidate.manifest.policy;
		const rows = scored.map((out, i) => ({
			backtestId: id,
			predictionId: valid[i]?.id as string,
			probability: out.probability,
			decision: decisionFor(out.probability, cutoffs),
			shapValues: encodeShap(out.shap)
		}));
		const last = batch.at(-1)?.id ?? null;
		await this.#deps.db.transaction(async (tx) => {
			const [held] = await tx
				.update(backtests)
				.set({
					done: sql`${backtests.done} + ${batch.length}`,
					skipped: sql`${backtests.skipped} + ${batch.length - valid.length}`,
					cursor: last,
					heartbeatAt: new Date(this.#clock())
				})
				.where(
					and(
						eq(backtests.id, id),
						eq(backtests.status, 'running'),
						eq(backtests.instance, this.#deps.instance)
					)
				)
				.returning({ id: backtests.id });
			if (!held) throw new ClaimLost();
			if (rows.length > 0) await tx.insert(backtestPredictions).values(rows).onConflictDoNothing();
		});
		return valid.length;
	}

	/** Marks the backtest finished if this instance still holds it; false when it did not. */
	async #finish(id: string, status: 'completed' | 'failed', error: string | null): Promise<boolean> {
		const [row] = await this.#deps.db
			.update(backtests)
			.set({ status, error: error?.slice(0, ERROR_LENGTH) ?? null, finishedAt: new Date(this.#clock()) })
			.where(
				and(
					eq(backtests.id, id),
					eq(backtests.status, 'running'),
					eq(backtests.instance, this.#deps.instance)
				)
			)
			.returning({ id: backtests.id });
		if (row) logger.info({ backtest: id, status }, 'backtest finished');
		return row !== undefined;
	}
}
