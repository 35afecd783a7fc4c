import { z } from 'zod';
import {
	countPredictions,
	getPrediction,
	historyQuerySchema,
	listPredictions
} from '../../services/history.service';
import { roleProcedure, router } from '../trpc';

/** Who may read every stored decision: risk managers and administrators. */
const historyProcedure = roleProcedure('risk_manager', 'admin');

/** Stored predictions, read-only: searched and keyset-paginated, or one in full. */
export const historyRouter = router({
	list: historyProcedure
		.input(historyQuerySchema)
		.query(({ ctx, input }) => listPredictions(ctx.core.database.db, input)),

	/** How many stored decisions match the filters (counted up to 100,000; `capped` past it). */
	count: historyProcedure
		.input(historyQuerySchema)
		.query(({ ctx, input }) => countPredictions(ctx.core.database.db, input)),

	get: historyProcedure
		.input(z.object({ id: z.string().min(1).max(64) }))
		.query(({ ctx, input }) => getPrediction(ctx.core.database.db, ctx.core.models, input.id))
});
