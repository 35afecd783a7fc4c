import { auditQuerySchema, listAudit } from '../../services/audit.service';
import { roleProcedure, router } from '../trpc';

/** The audit log, read-only: newest first, filtered, keyset-paginated. */
export const auditRouter = router({
	list: roleProcedure('admin')
		.input(auditQuerySchema)
		.query(({ ctx, input }) => listAudit(ctx.core.database.db, input))
});
