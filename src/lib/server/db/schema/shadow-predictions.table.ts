import { doublePrecision, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { decisionEnum } from './enums';
import { bytea, predictions } from './predictions.table';

/**
 * What a version in shadow said about a champion decision: scored in the background after the
 * champion's answer (`services/shadow-scoring.ts`), kept apart from `predictions` so that nothing
 * reading decisions (history, monitoring, drift, notices) ever sees it. One row per champion
 * decision the shadow scored; rows are never updated.
 */
export const shadowPredictions = pgTable(
	'shadow_predictions',
	{
		id: uuid('id').primaryKey().defaultRandom(),
		/** The champion's recorded decision. */
		predictionId: uuid('prediction_id')
			.notNull()
			.references(() => predictions.id),
		modelId: text('model_id').notNull(),
		/** The version in shadow that scored it. */
		shadowVersion: text('shadow_version').notNull(),
		/** The champion version that decided (copied from the prediction). */
		championVersion: text('champion_version').notNull(),
		probability: doublePrecision('probability').notNull(),
		/** The shadow version's own policy applied to its probability. */
		decision: decisionEnum('decision').notNull(),
		/** SHAP in log-odds, float64 little-endian, one per feature of the shadow version's manifest, in its order. */
		shapValues: bytea('shap_values').notNull(),
		/** When the champion decided (the prediction's `created_at`): comparisons filter on it. */
		decidedAt: timestamp('decided_at', { withTimezone: true }).notNull(),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow()
	},
	(table) => [
		index('shadow_predictions_model_decided_idx').on(table.modelId, table.shadowVersion, table.decidedAt),
		index('shadow_predictions_prediction_idx').on(table.predictionId)
	]
);

export type ShadowPredictionRow = typeof shadowPredictions.$inferSelect;
export type NewShadowPrediction = typeof shadowPredictions.$inferInsert;
