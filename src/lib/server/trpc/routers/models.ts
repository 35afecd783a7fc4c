import { z } from 'zod';
import { modelInfoOutput, modelListOutput } from '../schemas';
import { protectedProcedure, roleProcedure, router } from '../trpc';
import { describeModels, describeVersion } from '../../services/models.service';
import { modelStates } from '../../db/schema';
import { promoteInputSchema, rollbackInputSchema } from '../../services/model-registry.service';
import { uploadInputSchema } from '../../services/bundle-upload.service';

/** Who may change which version is served: administrators. */
const registryProcedure = roleProcedure('admin');

const registryChangeOutput = z.object({
	model: z.string(),
	champion: z.string().describe('The version served from now on.'),
	previous: z.string().describe('The champion before this change.'),
	previousState: z.enum(modelStates).describe('Where the previous champion went.'),
	generation: z.number().int()
});

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
		.query(({ ctx, input }) =>
			describeVersion(ctx.core.models, ctx.core.models.resolve(input.model, input.version))
		),

	/**
	 * Makes a version the champion on every instance sharing the database; the old champion
	 * becomes a challenger. 404 for an unknown model or version, 409 for a retired version, the
	 * current champion, a stale `expectedGeneration` or a concurrent change.
	 */
	promote: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/promote',
				tags: ['models'],
				summary: 'Promote a model version to champion',
				protect: true
			}
		})
		.input(promoteInputSchema)
		.output(registryChangeOutput)
		.mutation(({ ctx, input }) =>
			ctx.core.lifecycle.promote(ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId })
		),

	/**
	 * Registers a bundle archive (tar or tar.gz, base64) after checking its manifest, its SHA-256
	 * and its golden rows in the inference workers; 400 with the failing checks or rows, 409 when
	 * the version exists. The version is `registered` (champion only for a new model).
	 */
	upload: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/bundles',
				tags: ['models'],
				summary: 'Upload a model bundle',
				protect: true
			}
		})
		.input(uploadInputSchema)
		.output(
			z.object({
				model: z.string(),
				version: z.string(),
				state: z.enum(modelStates),
				sha256: z.string(),
				goldenRows: z.number().int(),
				maxProbabilityError: z.number(),
				maxShapError: z.number()
			})
		)
		.mutation(({ ctx, input }) =>
			ctx.core.lifecycle.upload(ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId })
		),

	/** Restores the champion the last promotion replaced; the version rolled back is retired. */
	rollback: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/rollback',
				tags: ['models'],
				summary: 'Roll a model back to its previous champion',
				protect: true
			}
		})
		.input(rollbackInputSchema)
		.output(registryChangeOutput)
		.mutation(({ ctx, input }) =>
			ctx.core.lifecycle.rollback(ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId })
		)
});
