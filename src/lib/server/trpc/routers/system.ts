import { publicProcedure, router } from '../trpc';
import { checkReadiness } from '../../services/health.service';

export const systemRouter = router({
	/** Liveness and readiness of this instance, with each readiness check's outcome. */
	health: publicProcedure.query(({ ctx }) => checkReadiness(ctx.core))
});
