import type { z } from 'zod';
import { batchInput, batchOutput, explainInput, explainOutput, scoreInput, scoreOutput } from '../schemas';
import { registerDirect } from '../direct';
import { roleProcedure, router, type Context } from '../trpc';
import type { Channel } from '../../db/schema';

/** Who may score: services, risk managers and admins. */
const scoringProcedure = roleProcedure('scorer', 'risk_manager', 'admin');

function callerOf(ctx: Context & { principal: NonNullable<Context['principal']> }, channel: Channel) {
	return { principal: ctx.principal, requestId: ctx.requestId, channel };
}

type ScoringContext = Context & { principal: NonNullable<Context['principal']> };

/**
 * The scoring resolvers, shared by the procedures below and by the REST layer, which calls them
 * directly on its hot path (`http/rest.ts`, direct routes) after the same access rule and input
 * schema.
 */
const scoringResolvers = {
	score: ({ ctx, input }: { ctx: ScoringContext; input: z.output<typeof scoreInput> }) =>
		ctx.core.scoring.score(callerOf(ctx, ctx.channel), input),
	scoreBatch: ({ ctx, input }: { ctx: ScoringContext; input: z.output<typeof batchInput> }) =>
		ctx.core.scoring.scoreBatch(callerOf(ctx, 'batch'), input)
};

registerDirect('scoring.score', scoringResolvers.score);
registerDirect('scoring.scoreBatch', scoringResolvers.scoreBatch);

export const scoringRouter = router({
	/** Scores one applicant: probability of default, points, band, decision, reason codes. */
	score: scoringProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/score',
				tags: ['scoring'],
				summary: 'Score one applicant',
				protect: true
			}
		})
		.input(scoreInput)
		.output(scoreOutput)
		.mutation(scoringResolvers.score),

	/** Scores up to 10,000 applicants; a bad row gets its own field errors and never fails the batch. */
	scoreBatch: scoringProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/score/batch',
				tags: ['scoring'],
				summary: 'Score a batch of applicants',
				protect: true
			}
		})
		.input(batchInput)
		.output(batchOutput)
		.mutation(scoringResolvers.scoreBatch),

	/** The full explanation of a stored prediction, or of a new applicant (not recorded). */
	explain: scoringProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/explain',
				tags: ['scoring'],
				summary: 'Explain a stored prediction or a new applicant',
				protect: true
			}
		})
		.input(explainInput)
		.output(explainOutput)
		.mutation(async ({ ctx, input }) => {
			const caller = callerOf(ctx, ctx.channel);
			const { result, version, applicant } = input.predictionId
				? await ctx.core.scoring.explainStored(
						{ ...caller, mayReadAll: ctx.principal.role !== 'scorer' },
						input.predictionId
					)
				: await ctx.core.scoring.explainApplicant(caller, {
						model: input.model ?? '',
						version: input.version,
						applicant: input.applicant ?? {}
					});
			const counterfactual = await ctx.core.counterfactuals.suggest(version, applicant, result.probability);
			return { ...result, counterfactual };
		})
});
