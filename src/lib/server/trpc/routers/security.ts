import { z } from 'zod';
import { getSecuritySettings, setRequireTwoFactor } from '../../services/settings.service';
import { protectedProcedure, roleProcedure, router } from '../trpc';

/** Instance-wide security settings, and who the caller is. */
export const securityRouter = router({
	/** The authenticated caller (person or service account), as the server sees it. */
	whoami: protectedProcedure.query(({ ctx }) => ctx.principal),
	settings: roleProcedure('admin').query(({ ctx }) =>
		getSecuritySettings(ctx.core.database.db, ctx.core.env)
	),
	setRequireTwoFactor: roleProcedure('admin')
		.input(z.object({ value: z.boolean() }))
		.mutation(async ({ ctx, input }) => {
			await setRequireTwoFactor(
				ctx.core.database.db,
				{ actor: ctx.principal, ip: ctx.ip, requestId: ctx.requestId },
				input.value
			);
			return getSecuritySettings(ctx.core.database.db, ctx.core.env);
		})
});
