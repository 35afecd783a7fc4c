import { bigint, pgTable, primaryKey, smallint, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Predictions per model version, hour and feature, counted per reference bin: what drift is
 * computed from, so that a week of drift reads a few thousand rows instead of scanning
 * `predictions`. Kept up to date by the prediction writer in the same transaction as the rows it
 * counts (an upsert that adds), so a committed prediction is counted exactly once whichever
 * instance wrote it. One array of bins per feature, not one row per bin: a flush upserts ~22 rows
 * instead of ~220.
 *
 * A bin is the index of the manifest reference's bin (numeric: `edges`; categorical: the feature's
 * categories in manifest order; the score, feature `$score`: the score edges), or
 * {@link MISSING_BIN} for a missing value and {@link OTHER_BIN} for a category the reference lacks.
 */
export const driftCounts = pgTable(
	'drift_counts',
	{
		modelId: text('model_id').notNull(),
		modelVersion: text('model_version').notNull(),
		hour: timestamp('hour', { withTimezone: true }).notNull(),
		feature: text('feature').notNull(),
		/**
		 * The writer's slot that added to this row: write transactions in flight at once in one
		 * instance hold different slots, so they never wait for each other's row locks. Readers sum
		 * over slots.
		 */
		slot: smallint('slot').notNull(),
		/** Count per bin: position 1 (SQL arrays start at 1) {@link OTHER_BIN}, 2 {@link MISSING_BIN}, 3 + i bin i. */
		counts: bigint('counts', { mode: 'number' }).array().notNull()
	},
	(table) => [
		primaryKey({
			columns: [table.modelId, table.modelVersion, table.hour, table.feature, table.slot]
		})
	]
);

/** Bin of a missing value. */
export const MISSING_BIN = -1;
/** Bin of a category that is not in the reference (unseen in training). */
export const OTHER_BIN = -2;
/** Feature name under which the score (the predicted probability) is counted. */
export const SCORE_FEATURE = '$score';
