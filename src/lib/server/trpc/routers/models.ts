import { z } from 'zod';
import { modelInfoOutput, modelListOutput } from '../schemas';
import { protectedProcedure, router } from '../trpc';
import { describeModels, describeVersion } from '../../services/models.service';

export const modelsRouter = router({
	/** Every model with its versions, champion and challengers. */
	list: protectedProcedure
		.meta({
			openapi: { method: 'GET', path: '/models', tags: ['models'], summary: 'List models', protect: true }
		})
		.input(z.object({}).optional())
		.output(modelListOutput)
		.query(({ ctx }) => describeModels(ctx.core.models)),

	/** One model version: its features (types, ranges, categories), metrics and decision policy. */
	info: protectedProcedure
		.meta({
			openapi: {
				method: 'GET',
				path: '/models/{model}',
				tags: ['models'],
				summary: 'Describe a model',
				protect: true
			}
		})
		.input(z.object({ model: z.string().min(1).max(64), version: z.string().min(1).max(64).optional() }))
		.output(modelInfoOutput)
		.query(({ ctx, input }) => describeVersion(ctx.core.models.resolve(input.model, input.version)))
});
