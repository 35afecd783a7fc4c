/**
 * Human review of recorded decisions: a risk manager records the final decision on an application
 * (approve, decline or refer) with a mandatory reason. The model's decision stays as it was
 * recorded; reviews sit beside it, append-only, each written in one transaction with its audit
 * entry. The latest review of a prediction is its final decision.
 *
 * Override rate, as credit-risk practice counts it: among the decisions the model made on its own
 * (approve or decline), the share whose final decision went the other way — a low-side override
 * (the model declined, a person approved) or a high-side one (the model approved, a person
 * declined). The model's `review` decisions resolved by a person are counted apart: deciding them
 * is the reviewer's job, not an override.
 */
import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { toFieldErrors } from '$lib/validation/field-errors';
import type { Principal } from '../auth/principal';
import type { Database } from '../db';
import {
	decisionReviews,
	finalDecisions,
	predictions,
	type Decision,
	type FinalDecision
} from '../db/schema';
import { PredictionNotFound, ValidationFailed } from '../errors';
import { recordAudit } from './audit.service';
import { boundedInstant } from '../../validation/dates';

export const reviewInputSchema = z.strictObject({
	predictionId: z.uuid({ error: 'Not a prediction id.' }),
	decision: z.enum(finalDecisions, { error: 'Choose approve, decline or refer.' }),
	reason: z
		.string({ error: 'Give the reason for this decision.' })
		.trim()
		.min(3, 'Give the reason for this decision (at least 3 characters).')
		.max(2000, 'At most 2,000 characters.')
});
export type ReviewInput = z.input<typeof reviewInputSchema>;

export interface ReviewView {
	id: string;
	predictionId: string;
	createdAt: string;
	decision: FinalDecision;
	reason: string;
	reviewer: string;
	reviewerName: string | null;
	/** The model's decision, as recorded. */
	modelDecision: Decision;
	/** True when this final decision goes against an approve or decline of the model. */
	overrides: boolean;
}

/** Where the request came from, for the audit entry. */
export interface ReviewContext {
	ip: string | null;
	requestId: string | null;
}

/** An approve overturned to decline, or a decline to approve. */
export function isOverride(model: Decision, final: FinalDecision): boolean {
	return (model === 'approve' && final === 'decline') || (model === 'decline' && final === 'approve');
}

/** Records a final decision. Throws `ValidationFailed` (400) or `PredictionNotFound` (404). */
export async function recordReview(
	db: Database,
	reviewer: Principal,
	input: unknown,
	context: ReviewContext
): Promise<ReviewView> {
	const parsed = reviewInputSchema.safeParse(input);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const { predictionId, decision, reason } = parsed.data;
	return db.transaction(async (tx) => {
		const [prediction] = await tx
			.select({ decision: predictions.decision })
			.from(predictions)
			.where(eq(predictions.id, predictionId))
			.limit(1);
		if (!prediction) throw new PredictionNotFound(`No prediction ${predictionId}.`);
		const [row] = await tx
			.insert(decisionReviews)
			.values({
				predictionId,
				decision,
				reason,
				reviewer: `${reviewer.kind}:${reviewer.id}`,
				reviewerName: reviewer.name
			})
			.returning();
		if (!row) throw new Error('the review was not written');
		const overrides = isOverride(prediction.decision, decision);
		await recordAudit(tx, {
			actor: reviewer,
			action: 'decision.review',
			target: { type: 'prediction', id: predictionId },
			ip: context.ip,
			requestId: context.requestId,
			details: { reviewId: row.id, modelDecision: prediction.decision, finalDecision: decision, overrides }
		});
		return viewOf(row, prediction.decision);
	});
}

/** Every review of a prediction, oldest first (the last one is the final decision). */
export async function reviewsOf(db: Database, predictionId: string): Promise<ReviewView[]> {
	const rows = await db
		.select({ review: decisionReviews, modelDecision: predictions.decision })
		.from(decisionReviews)
		.innerJoin(predictions, eq(predictions.id, decisionReviews.predictionId))
		.where(eq(decisionReviews.predictionId, predictionId))
		.orderBy(asc(decisionReviews.createdAt), asc(decisionReviews.id));
	return rows.map(({ review, modelDecision }) => viewOf(review, modelDecision));
}

export const overrideQuerySchema = z
	.strictObject({
		from: boundedInstant.optional(),
		to: boundedInstant.optional()
	})
	.refine((f) => !f.from || !f.to || f.to > f.from, {
		message: 'The end is before the start.',
		path: ['to']
	});

export interface OverrideStats {
	from: string;
	to: string;
	/** Decisions the model recorded in the window. */
	decisions: number;
	/** Of which the model approved or declined on its own. */
	automatic: number;
	/** Decisions with at least one review. */
	reviewed: number;
	/** Model declined, final decision approve. */
	lowSide: number;
	/** Model approved, final decision decline. */
	highSide: number;
	/** (lowSide + highSide) / automatic; null when the model decided nothing on its own. */
	overrideRate: number | null;
	/** Model `review` decisions that a person has decided (approve or decline). */
	referralsResolved: number;
}

const DAY_MS = 86_400_000;
/** The window when none is given: the last 30 days. */
const DEFAULT_DAYS = 30;

/** Override counts over the decisions recorded in [from, to), by each one's latest review. */
export async function overrideStats(db: Database, query: unknown = {}): Promise<OverrideStats> {
	const parsed = overrideQuerySchema.safeParse(query);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const to = parsed.data.to ?? new Date();
	const from = parsed.data.from ?? new Date(to.getTime() - DEFAULT_DAYS * DAY_MS);
	const latest = db
		.selectDistinctOn([decisionReviews.predictionId], {
			predictionId: decisionReviews.predictionId,
			decision: decisionReviews.decision
		})
		.from(decisionReviews)
		.orderBy(
			decisionReviews.predictionId,
			sql`${decisionReviews.createdAt} desc`,
			sql`${decisionReviews.id} desc`
		)
		.as('latest');
	const [row] = await db
		.select({
			decisions: sql<number>`count(*)::int`,
			automatic: sql<number>`count(*) filter (where ${predictions.decision} <> 'review')::int`,
			reviewed: sql<number>`count(${latest.predictionId})::int`,
			lowSide: sql<number>`count(*) filter (where ${predictions.decision} = 'decline' and ${latest.decision} = 'approve')::int`,
			highSide: sql<number>`count(*) filter (where ${predictions.decision} = 'approve' and ${latest.decision} = 'decline')::int`,
			referralsResolved: sql<number>`count(*) filter (where ${predictions.decision} = 'review' and ${latest.decision} in ('approve', 'decline'))::int`
		})
		.from(predictions)
		.leftJoin(latest, eq(latest.predictionId, predictions.id))
		.where(and(gte(predictions.createdAt, from), lt(predictions.createdAt, to)));
	const counts = row ?? {
		decisions: 0,
		automatic: 0,
		reviewed: 0,
		lowSide: 0,
		highSide: 0,
		referralsResolved: 0
	};
	return {
		from: from.toISOString(),
		to: to.toISOString(),
		...counts,
		overrideRate: counts.automatic > 0 ? (counts.lowSide + counts.highSide) / counts.automatic : null
	};
}

function viewOf(row: typeof decisionReviews.$inferSelect, modelDecision: Decision): ReviewView {
	return {
		id: row.id,
		predictionId: row.predictionId,
		createdAt: row.createdAt.toISOString(),
		decision: row.decision,
		reason: row.reason,
		reviewer: row.reviewer,
		reviewerName: row.reviewerName,
		modelDecision,
		overrides: isOverride(modelDecision, row.decision)
	};
}
