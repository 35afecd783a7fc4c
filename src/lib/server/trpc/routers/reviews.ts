import { z } from 'zod';
import { finalDecisions } from '../../db/schema';
import {
	overrideQuerySchema,
	overrideStats,
	recordReview,
	reviewInputSchema,
	reviewsOf
} from '../../services/reviews.service';
import { roleProcedure, router } from '../trpc';

/** Who may record and read final decisions: risk managers and administrators. */
const reviewProcedure = roleProcedure('risk_manager', 'admin');

const reviewOutput = z.object({
	id: z.string(),
	predictionId: z.string(),
	createdAt: z.string(),
	decision: z.enum(finalDecisions),
	reason: z.string(),
	reviewer: z.string(),
	reviewerName: z.string().nullable(),
	modelDecision: z.enum(['approve', 'review', 'decline']),
	overrides: z
		.boolean()
		.describe('True when the final decision goes against an approve or decline of the model.')
});

/** Human review: final decisions beside the model's, and the override rate. */
export const reviewsRouter = router({
	/** Records a final decision (approve, decline or refer) with its mandatory reason. */
	record: reviewProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/predictions/{predictionId}/reviews',
				tags: ['reviews'],
				summary: 'Record the final decision on a scored application',
				protect: true
			}
		})
		.input(reviewInputSchema)
		.output(reviewOutput)
		.mutation(({ ctx, input }) =>
			recordReview(ctx.core.database.db, ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId })
		),

	/** Every review of a prediction, oldest first; the last is the final decision. */
	list: reviewProcedure
		.meta({
			openapi: {
				method: 'GET',
				path: '/predictions/{predictionId}/reviews',
				tags: ['reviews'],
				summary: 'List the reviews of a scored application',
				protect: true
			}
		})
		.input(z.strictObject({ predictionId: z.uuid({ error: 'Not a prediction id.' }) }))
		.output(z.array(reviewOutput))
		.query(({ ctx, input }) => reviewsOf(ctx.core.database.db, input.predictionId)),

	/** Override counts and rate over the decisions recorded in a window (default: the last 30 days). */
	overrides: reviewProcedure
		.meta({
			openapi: {
				method: 'GET',
				path: '/reviews/overrides',
				tags: ['reviews'],
				summary: 'Override rate of final decisions against the model',
				protect: true
			}
		})
		.input(overrideQuerySchema)
		.output(
			z.object({
				from: z.string(),
				to: z.string(),
				decisions: z.number().int(),
				automatic: z.number().int(),
				reviewed: z.number().int(),
				lowSide: z.number().int(),
				highSide: z.number().int(),
				overrideRate: z.number().nullable(),
				referralsResolved: z.number().int()
			})
		)
		.query(({ ctx, input }) => overrideStats(ctx.core.database.db, input))
});
