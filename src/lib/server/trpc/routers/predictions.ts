import { z } from 'zod';
import { exportNotice, exportNoticePdf, noticeInputSchema } from '../../services/notices/notice.service';
import { paperSizes } from '../../services/notices/notice-settings';
import { toFileOutput, fileOutput, roleProcedure, router } from '../trpc';

/** Who may read a stored decision, and so its notice: as for the history. */
const predictionProcedure = roleProcedure('risk_manager', 'admin');

const noticeOutput = z.object({
	predictionId: z.string(),
	reference: z.string().describe('The application reference when one was given, else the prediction id.'),
	date: z.string().describe('When the final decision was taken (ISO 8601).'),
	dateText: z.string(),
	decision: z.enum(['decline', 'refer']),
	decisionLabel: z.string(),
	modelDecision: z.enum(['approve', 'review', 'decline']),
	reviewed: z.boolean().describe('True when a person reviewed the decision (the final decision is theirs).'),
	summary: z.string(),
	reasons: z.array(z.object({ code: z.string(), text: z.string() })).max(4),
	lender: z.object({
		name: z.string(),
		addressLines: z.array(z.string()),
		contact: z.string().nullable(),
		statementOfRights: z.string(),
		paperSize: z.enum(paperSizes),
		isDefault: z.boolean()
	}),
	model: z.object({ id: z.string(), version: z.string() })
});

/** Documents made from one stored decision. */
export const predictionsRouter = router({
	/**
	 * The adverse-action notice of a declined or referred application, as JSON (audited as a data
	 * export). 409 when the final decision is approve.
	 */
	notice: predictionProcedure
		.meta({
			openapi: {
				method: 'GET',
				path: '/predictions/{predictionId}/notice',
				tags: ['notices'],
				summary: 'The adverse-action notice of a declined or referred application, as JSON',
				protect: true
			}
		})
		.input(noticeInputSchema)
		.output(noticeOutput)
		.query(({ ctx, input }) =>
			exportNotice(ctx.core.database.db, ctx.principal, input, {
				ip: ctx.ip,
				requestId: ctx.requestId,
				channel: ctx.channel,
				// In the portal the content is only ever shown as the printable page.
				format: ctx.channel === 'portal' ? 'html' : 'json'
			})
		),

	/**
	 * The same notice as a PDF: REST answers the file itself (`application/pdf`), tRPC the file in
	 * base64 with its name.
	 */
	noticePdf: predictionProcedure
		.meta({
			openapi: {
				method: 'GET',
				path: '/predictions/{predictionId}/notice.pdf',
				tags: ['notices'],
				summary: 'The adverse-action notice of a declined or referred application, as a PDF',
				protect: true
			},
			file: { contentType: 'application/pdf' }
		})
		.input(noticeInputSchema)
		.output(fileOutput)
		.query(async ({ ctx, input }) =>
			toFileOutput(
				await exportNoticePdf(ctx.core.database.db, ctx.principal, input, {
					ip: ctx.ip,
					requestId: ctx.requestId,
					channel: ctx.channel
				})
			)
		)
});
