import { z } from 'zod';
import { decisionKpis, kpiQuerySchema } from '../../services/kpis.service';
import { roleProcedure, router } from '../trpc';

/** Who reads the business figures: executives, risk managers and administrators. */
const kpiProcedure = roleProcedure('executive', 'risk_manager', 'admin');

const rate = z.number().nullable();
const periodFigures = z.object({
	decisions: z.number().int(),
	approved: z.number().int(),
	referred: z.number().int(),
	declined: z.number().int(),
	approvalRate: rate,
	reviewRate: rate,
	declineRate: rate,
	expectedDefaultRateApproved: rate.describe(
		'Mean probability of default of the approved decisions: the expected default rate of the approved book.'
	)
});
const kpiRow = z.object({
	model: z.string().nullable().describe('The model id; null for all products together.'),
	label: z.string(),
	current: periodFigures,
	previous: periodFigures.describe('The period of the same length just before.')
});
const span = z.object({ from: z.string(), to: z.string() });

/** Business figures of the model's decisions. */
export const kpisRouter = router({
	/** Volume and decision rates per product and overall, against the period before. */
	summary: kpiProcedure
		.meta({
			openapi: {
				method: 'GET',
				path: '/kpis',
				tags: ['kpis'],
				summary:
					'Decision volume, approval, review and decline rates and the approved book’s expected default rate, per product, against the previous period',
				protect: true
			}
		})
		.input(kpiQuerySchema)
		.output(z.object({ period: span, previousPeriod: span, overall: kpiRow, products: z.array(kpiRow) }))
		.query(({ ctx, input }) => decisionKpis(ctx.core.database.db, ctx.core.models, input))
});
