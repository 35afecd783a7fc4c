import { sql } from 'drizzle-orm';
import {
	check,
	doublePrecision,
	index,
	integer,
	pgTable,
	text,
	timestamp,
	uniqueIndex,
	uuid
} from 'drizzle-orm/pg-core';
import { decisionEnum } from './enums';
import { bytea, predictions } from './predictions.table';

export const backtestStatuses = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type BacktestStatus = (typeof backtestStatuses)[number];

/**
 * Backtests (`docs/models.md`, "Backtest"): the stored applications of a model decided in
 * `[from, to)` replayed through one registered version. An administrator queues the row; the
 * runner of whichever instance claims it (`status` queued → running, `instance`, `heartbeat_at`)
 * scores the applications in chunks and moves `done` on after each.
 */
export const backtests = pgTable(
	'backtests',
	{
		id: uuid('id').primaryKey().defaultRandom(),
		modelId: text('model_id').notNull(),
		/** The candidate version the applications are replayed through. */
		version: text('version').notNull(),
		/** The period of the applications, `[from, to)`, on the prediction's `created_at`. */
		from: timestamp('from', { withTimezone: true }).notNull(),
		to: timestamp('to', { withTimezone: true }).notNull(),
		status: text('status').$type<BacktestStatus>().notNull().default('queued'),
		/** Applications in the period (capped), counted when the backtest was queued. */
		total: integer('total').notNull(),
		/** Applications scored so far (rows in `backtest_predictions`, skipped ones included). */
		done: integer('done').notNull().default(0),
		/** Stored applications the candidate's manifest refused (counted in `done`, no result row). */
		skipped: integer('skipped').notNull().default(0),
		/** The last application scored (in `(created_at, id)` order): a resumed run starts after it. */
		cursor: uuid('cursor'),
		requestedBy: text('requested_by').notNull(),
		reason: text('reason').notNull(),
		/** The instance running it (the last one, once finished). */
		instance: text('instance'),
		error: text('error'),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		startedAt: timestamp('started_at', { withTimezone: true }),
		/** Moved on after every chunk; a running backtest whose heartbeat is stale may be taken over. */
		heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }),
		finishedAt: timestamp('finished_at', { withTimezone: true })
	},
	(table) => [
		index('backtests_model_created_idx').on(table.modelId, table.createdAt),
		index('backtests_status_idx').on(table.status),
		check(
			'backtests_status_check',
			sql`${table.status} in ('queued', 'running', 'completed', 'failed', 'cancelled')`
		)
	]
);

export type BacktestRow = typeof backtests.$inferSelect;

/**
 * What the candidate said about one stored application of a backtest. The unique index keeps a
 * resumed run from scoring an application twice.
 */
export const backtestPredictions = pgTable(
	'backtest_predictions',
	{
		backtestId: uuid('backtest_id')
			.notNull()
			.references(() => backtests.id, { onDelete: 'cascade' }),
		predictionId: uuid('prediction_id')
			.notNull()
			.references(() => predictions.id),
		probability: doublePrecision('probability').notNull(),
		/** The candidate's own policy applied to its probability. */
		decision: decisionEnum('decision').notNull(),
		/** SHAP in log-odds, float64 little-endian, in the candidate manifest's feature order. */
		shapValues: bytea('shap_values').notNull()
	},
	(table) => [uniqueIndex('backtest_predictions_pk_idx').on(table.backtestId, table.predictionId)]
);

export type NewBacktestPrediction = typeof backtestPredictions.$inferInsert;
