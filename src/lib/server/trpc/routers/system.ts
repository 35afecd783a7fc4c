import { z } from 'zod';
import { publicProcedure, router } from '../trpc';
import { checkReadiness } from '../../services/health.service';

const healthOutput = z.object({
	status: z.enum(['ready', 'not_ready']),
	uptimeSeconds: z.number(),
	checks: z.array(
		z.object({ name: z.string(), ok: z.boolean(), error: z.string().optional(), ms: z.number() })
	)
});

export const systemRouter = router({
	/** Liveness and readiness of this instance, with each readiness check's outcome. */
	health: publicProcedure
		.meta({
			openapi: { method: 'GET', path: '/health', tags: ['system'], summary: 'Readiness of this instance' }
		})
		.input(z.object({}).optional())
		.output(healthOutput)
		.query(({ ctx }) => checkReadiness(ctx.core))
});
