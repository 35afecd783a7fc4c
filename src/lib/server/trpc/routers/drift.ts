import { z } from 'zod';
import { computeDrift, driftInputSchema } from '../../services/drift.service';
import { roleProcedure, router } from '../trpc';

const watchers = roleProcedure('risk_manager', 'admin');

const test = z.object({ statistic: z.number(), pValue: z.number() });
const featureDrift = z.object({
	feature: z.string(),
	kind: z.enum(['numeric', 'categorical']),
	count: z.number().int(),
	psi: z.number(),
	severity: z.enum(['stable', 'watch', 'act']).nullable(),
	bins: z.array(
		z.object({
			label: z.string(),
			count: z.number(),
			expected: z.number(),
			actual: z.number(),
			contribution: z.number()
		})
	),
	ks: test.nullable(),
	chiSquare: test.extend({ degreesOfFreedom: z.number().int() }).nullable(),
	missingRate: z.object({ baseline: z.number(), actual: z.number(), change: z.number() })
});
const driftOutput = z.object({
	model: z.string(),
	version: z.string(),
	window: z.object({ from: z.string(), to: z.string() }),
	baseline: z.object({
		kind: z.enum(['reference', 'previous']),
		from: z.string().nullable(),
		to: z.string().nullable(),
		count: z.number()
	}),
	count: z.number(),
	bands: z.object({ watch: z.number(), act: z.number() }),
	score: featureDrift,
	features: z.array(featureDrift)
});

/** Drift of a model version's inputs and score (docs/drift.md). */
export const driftRouter = router({
	get: watchers
		.meta({
			openapi: {
				method: 'GET',
				path: '/models/{model}/drift',
				tags: ['monitoring'],
				summary: 'Drift of a model version per feature over a window',
				protect: true
			}
		})
		.input(driftInputSchema)
		.output(driftOutput)
		.query(({ ctx, input }) =>
			computeDrift(
				{
					db: ctx.core.db,
					models: ctx.core.models,
					bands: { watch: ctx.core.env.DRIFT_PSI_WATCH, act: ctx.core.env.DRIFT_PSI_ACT }
				},
				input
			)
		)
});
