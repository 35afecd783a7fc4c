import {
	acknowledgeAlert,
	acknowledgeInputSchema,
	alertQuerySchema,
	listAlerts
} from '../../services/alerts.service';
import { alertView, monitoringSummary, summaryInputSchema } from '../../services/monitoring.service';
import { roleProcedure, router } from '../trpc';

const watchers = roleProcedure('admin', 'risk_manager');

/** The in-app monitoring: traffic, SLOs, score distributions and alerts. */
export const monitoringRouter = router({
	summary: watchers
		.input(summaryInputSchema)
		.query(({ ctx, input }) => monitoringSummary(ctx.core, input.range)),
	alerts: watchers
		.input(alertQuerySchema)
		.query(async ({ ctx, input }) => (await listAlerts(ctx.core.db, input)).map(alertView)),
	acknowledge: watchers.input(acknowledgeInputSchema).mutation(async ({ ctx, input }) =>
		alertView(
			await acknowledgeAlert(ctx.core.db, ctx.principal, input.id, {
				ip: ctx.ip,
				requestId: ctx.requestId
			})
		)
	)
});
