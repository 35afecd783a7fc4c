import { z } from 'zod';
import { modelPerformance, performanceInput } from '../../services/performance.service';
import { roleProcedure, router } from '../trpc';

/** Who may read model performance: those who watch the models. */
const watchers = roleProcedure('risk_manager', 'admin');

const nullable = z.number().nullable();

const calibrationRow = z.object({
	group: z.string().describe("The band's name, or the decile's number (1 = lowest probabilities)."),
	n: z.number().int(),
	defaults: z.number().int(),
	expected: z.number().describe('Mean probability of default of these loans.'),
	observed: z.number().describe('Share of these loans that defaulted.'),
	minProbability: z.number(),
	maxProbability: z.number()
});

const realised = z.object({
	n: z.number().int().describe('Matured loans with an outcome.'),
	defaults: z.number().int(),
	defaultRate: z.number(),
	auc: z
		.object({
			value: z.number(),
			standardError: nullable,
			lower: nullable.describe('DeLong 95 % interval, clipped to [0, 1].'),
			upper: nullable
		})
		.nullable(),
	gini: nullable,
	ks: nullable,
	brier: nullable,
	approved: z.number().int(),
	badRateApproved: nullable,
	expected: z.object({ defaultRate: nullable, auc: nullable, badRateApproved: nullable }),
	calibration: z.object({ bands: z.array(calibrationRow), deciles: z.array(calibrationRow) })
});

const period = z.object({
	start: z.string(),
	end: z.string(),
	predictions: z.number().int(),
	approvalRate: nullable,
	estimated: z.object({ auc: nullable, defaultRate: nullable, badRateApproved: nullable }),
	matured: z.number().int(),
	labelled: z.number().int(),
	realised: realised.nullable()
});

const performanceOutput = z.object({
	model: z.string(),
	by: z.enum(['vintage', 'window']),
	window: z.string().nullable(),
	from: z.string().nullable(),
	to: z.string().nullable(),
	maturityMonths: z.number().int(),
	maturedBefore: z.string(),
	generatedAt: z.string(),
	versions: z.array(z.object({ version: z.string(), periods: z.array(period), overall: period }))
});

/** Realised performance of a model's versions by vintage or window, beside the estimate. */
export const performanceRouter = router({
	get: watchers
		.meta({
			openapi: {
				method: 'GET',
				path: '/models/{model}/performance',
				tags: ['monitoring'],
				summary: 'Realised and estimated performance of a model by vintage or window',
				protect: true
			}
		})
		.input(performanceInput)
		.output(performanceOutput)
		.query(({ ctx, input }) =>
			modelPerformance(ctx.core.db, ctx.core.models, input, {
				maturityMonths: ctx.core.env.PERFORMANCE_MATURITY_MONTHS
			})
		)
});
