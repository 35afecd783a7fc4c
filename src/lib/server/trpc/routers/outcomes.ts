import { z } from 'zod';
import { outcomeSources } from '../../db/schema';
import {
	checkOutcomes,
	checkOutcomesInput,
	listOutcomes,
	outcomeErrorCodes,
	outcomeStatuses,
	recordOutcomes,
	recordOutcomesInput
} from '../../services/outcomes.service';
import type { Principal } from '../../auth/principal';
import { registerDirect } from '../direct';
import { roleProcedure, router, type Context } from '../trpc';

/**
 * Who may record and read outcomes: risk managers and administrators, for every prediction, and
 * scoring services (`scorer`), for the predictions they requested themselves (the service scopes
 * what a scorer sees; another's prediction is reported as not found).
 */
const outcomeProcedure = roleProcedure('risk_manager', 'admin', 'scorer');

const count = z.number().int();

const recordOutput = z.object({
	counts: z.object({ recorded: count, corrected: count, unchanged: count, rejected: count }),
	results: z.array(
		z.object({
			index: z.number().int().describe('Position of the row in the call, from 0.'),
			predictionId: z.string().optional(),
			applicationId: z.string().optional(),
			status: z
				.enum(outcomeStatuses)
				.describe(
					'recorded: first outcome; corrected: a new version; unchanged: equal to the latest version; rejected: see error.'
				),
			version: z.number().int().optional().describe('The latest version of this outcome after the call.'),
			error: z
				.object({
					code: z.enum(outcomeErrorCodes),
					message: z.string(),
					fieldErrors: z.record(z.string(), z.array(z.string())).optional()
				})
				.optional()
		})
	)
});

const outcomeOutput = z.object({
	id: z.string(),
	predictionId: z.string(),
	version: z.number().int(),
	defaulted: z.boolean(),
	observedAt: z.string(),
	lossAmount: z.number().nullable(),
	note: z.string().nullable(),
	source: z.enum(outcomeSources),
	recordedAt: z.string(),
	recordedBy: z.string(),
	recordedByName: z.string().nullable()
});

/**
 * Served directly by the fast doors too (`trpc/direct.ts`): a call of 10,000 outcomes is about
 * 1 MB, over the body limit of SvelteKit's adapter (`BODY_SIZE_LIMIT`, 512 kB), so services' `/trpc`
 * calls take the Node fast path with the API's own limit (`API_BODY_LIMIT_BYTES`), as REST does.
 */
const recordResolver = ({
	ctx,
	input
}: {
	ctx: Context & { principal: Principal };
	input: z.output<typeof recordOutcomesInput>;
}) => recordOutcomes(ctx.core.database.db, ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId });

registerDirect('outcomes.record', recordResolver);

/** Realised outcomes of scored applications: defaulted or not, when, and the loss. */
export const outcomesRouter = router({
	/** Records up to 10,000 outcomes; idempotent per prediction, a changed one is a new version. */
	record: outcomeProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/outcomes',
				tags: ['outcomes'],
				summary: 'Record what happened to scored applications (up to 10,000 per call)',
				protect: true
			}
		})
		.input(recordOutcomesInput)
		.output(recordOutput)
		.mutation(recordResolver),

	/**
	 * What `record` would answer for these rows, without writing anything (the portal's upload
	 * shows it before the file is sent).
	 */
	check: outcomeProcedure
		.input(checkOutcomesInput)
		.output(recordOutput)
		.mutation(({ ctx, input }) => checkOutcomes(ctx.core.database.db, ctx.principal, input)),

	/** Every version of a prediction's outcome, oldest first; the last is the outcome. */
	list: outcomeProcedure
		.meta({
			openapi: {
				method: 'GET',
				path: '/predictions/{predictionId}/outcomes',
				tags: ['outcomes'],
				summary: 'List the outcome versions of a scored application',
				protect: true
			}
		})
		.input(z.strictObject({ predictionId: z.uuid({ error: 'Not a prediction id.' }) }))
		.output(z.array(outcomeOutput))
		.query(({ ctx, input }) => listOutcomes(ctx.core.database.db, ctx.principal, input.predictionId))
});
