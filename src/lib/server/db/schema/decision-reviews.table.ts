import { sql } from 'drizzle-orm';
import { check, index, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { predictions } from './predictions.table';

/** A person's final decision on an application: approve it, decline it, or refer it further. */
export const finalDecisions = ['approve', 'decline', 'refer'] as const;
export type FinalDecision = (typeof finalDecisions)[number];
export const finalDecisionEnum = pgEnum('final_decision', finalDecisions);

/**
 * Human reviews of recorded decisions: a risk manager's final decision with its mandatory reason,
 * kept beside the model's (the prediction row is never rewritten). Append-only like the audit log
 * (a trigger in migration 0007 refuses UPDATE and DELETE): a change of mind is a new review, and
 * the latest review of a prediction is its final decision.
 */
export const decisionReviews = pgTable(
	'decision_reviews',
	{
		id: uuid('id').primaryKey().defaultRandom(),
		predictionId: uuid('prediction_id')
			.notNull()
			.references(() => predictions.id),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		decision: finalDecisionEnum('decision').notNull(),
		reason: text('reason').notNull(),
		/** The reviewer as a stored requester (`user:<id>`), and their name at the time. */
		reviewer: text('reviewer').notNull(),
		reviewerName: text('reviewer_name')
	},
	(table) => [
		index('decision_reviews_prediction_idx').on(table.predictionId, table.createdAt),
		index('decision_reviews_created_at_idx').on(table.createdAt),
		check('decision_reviews_reason_check', sql`length(btrim(${table.reason})) between 3 and 2000`)
	]
);

export type DecisionReview = typeof decisionReviews.$inferSelect;
