import { sampleNoticePdf } from '../../services/notices/notice.service';
import {
	getNoticeSettings,
	noticeSettingsSchema,
	saveNoticeSettings
} from '../../services/notices/notice-settings';
import { toFileOutput, fileOutput, roleProcedure, router } from '../trpc';

/** The lender's details printed on adverse-action notices: administrators only. */
const adminProcedure = roleProcedure('admin');

export const noticesRouter = router({
	settings: adminProcedure.query(({ ctx }) => getNoticeSettings(ctx.core.database.db)),

	/** Saves the lender's name, address, contact line, statement of rights and paper size (audited). */
	updateSettings: adminProcedure
		.input(noticeSettingsSchema)
		.mutation(({ ctx, input }) =>
			saveNoticeSettings(
				ctx.core.database.db,
				{ actor: ctx.principal, ip: ctx.ip, requestId: ctx.requestId },
				input
			)
		),

	/** A notice with made-up applicant data and the saved lender details, as a PDF. */
	preview: adminProcedure
		.meta({ file: { contentType: 'application/pdf' } })
		.output(fileOutput)
		.query(async ({ ctx }) => toFileOutput(await sampleNoticePdf(ctx.core.database.db)))
});
