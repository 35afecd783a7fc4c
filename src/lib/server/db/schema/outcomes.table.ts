import { sql } from 'drizzle-orm';
import {
	boolean,
	check,
	date,
	index,
	integer,
	numeric,
	pgEnum,
	pgTable,
	text,
	timestamp,
	uniqueIndex,
	uuid
} from 'drizzle-orm/pg-core';
import { predictions } from './predictions.table';

/** Where an outcome came from, as its caller declares: an API call, a portal form, a CSV upload. */
export const outcomeSources = ['api', 'portal', 'csv'] as const;
export type OutcomeSource = (typeof outcomeSources)[number];
export const outcomeSourceEnum = pgEnum('outcome_source', outcomeSources);

/**
 * What happened to a scored application: did it default, on which day was that observed, and how
 * much was lost. Versioned per prediction (1, 2, 3…): the latest version is the outcome, and a
 * correction is a new version, never a rewrite. Append-only like the audit log (a trigger in
 * migration 0008 refuses UPDATE and DELETE).
 *
 * The prediction's model id, version and decision time are copied in when an outcome is written
 * (predictions are never updated, so the copy cannot drift): realised performance and drift read
 * outcomes by model version and decision month (vintage) through `outcomes_model_decided_idx`
 * without walking the predictions table, and join back to it by primary key for the scores.
 */
export const outcomes = pgTable(
	'outcomes',
	{
		id: uuid('id').primaryKey().defaultRandom(),
		predictionId: uuid('prediction_id')
			.notNull()
			.references(() => predictions.id),
		version: integer('version').notNull(),
		defaulted: boolean('defaulted').notNull(),
		/** The calendar day the outcome was observed (a default, or the loan's good end). */
		observedAt: date('observed_at', { mode: 'string' }).notNull(),
		/** Amount lost, in the loan's currency, to the cent; null when not known or not a default. */
		lossAmount: numeric('loss_amount', { precision: 15, scale: 2, mode: 'number' }),
		/** Why this version replaces the previous one (or any remark on the first). */
		note: text('note'),
		source: outcomeSourceEnum('source').notNull(),
		recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
		/** Who recorded it, as a stored requester (`user:<id>` / `service:<id>`), and their name then. */
		recordedBy: text('recorded_by').notNull(),
		recordedByName: text('recorded_by_name'),
		/** The request that wrote it; its audit entry carries the same id. */
		requestId: text('request_id'),
		modelId: text('model_id').notNull(),
		modelVersion: text('model_version').notNull(),
		/** When the decision was recorded (the prediction's `created_at`). */
		decidedAt: timestamp('decided_at', { withTimezone: true }).notNull()
	},
	(table) => [
		uniqueIndex('outcomes_prediction_version_idx').on(table.predictionId, table.version),
		index('outcomes_model_decided_idx').on(table.modelId, table.modelVersion, table.decidedAt),
		check('outcomes_version_check', sql`${table.version} >= 1`),
		check('outcomes_loss_check', sql`${table.lossAmount} is null or ${table.lossAmount} >= 0`),
		check('outcomes_note_check', sql`${table.note} is null or length(${table.note}) <= 500`)
	]
);

export type Outcome = typeof outcomes.$inferSelect;
export type NewOutcome = typeof outcomes.$inferInsert;
