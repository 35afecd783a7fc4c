/**
 * Adverse-action notices: what a lender sends an applicant whose application was declined or
 * referred — the applicant reference, the date, the decision, the principal reasons in the same
 * sentences the portal shows (at most four, strongest first) and the lender's name, address and
 * statement of rights. The decision that counts is the final one: the latest human review when
 * there is one, else the model's. An approved application has no notice (409).
 *
 * Every notice handed out — JSON, printable page or PDF — is a data export of applicant data and
 * writes a `data.export` audit entry.
 */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { toFieldErrors } from '$lib/validation/field-errors';
import type { Principal } from '../../auth/principal';
import type { Database } from '../../db';
import { predictions } from '../../db/schema';
import { Conflict, PredictionNotFound, ValidationFailed } from '../../errors';
import { recordAudit } from '../audit.service';
import { reviewsOf } from '../reviews.service';
import { getNoticeSettings, type NoticeSettings } from './notice-settings';
import {
	MAX_NOTICE_REASONS,
	decisionSentence,
	noticeDecision,
	noticeDecisionLabels,
	type AdverseActionNotice,
	type NoticeContext,
	type NoticeFile,
	type NoticeFormat
} from './notice-content';
import { renderNoticePdf } from './notice-pdf';

export const noticeInputSchema = z.strictObject({
	predictionId: z.uuid({ error: 'Not a prediction id.' })
});

/** The notice of a stored prediction, audited as a data export in `format`. */
export async function exportNotice(
	db: Database,
	caller: Principal,
	input: unknown,
	context: NoticeContext & { format: Exclude<NoticeFormat, 'pdf'> }
): Promise<AdverseActionNotice> {
	const notice = await buildNotice(db, input);
	await auditExport(db, caller, notice, context, context.format);
	return notice;
}

/** The notice of a stored prediction as a PDF, audited as a data export. */
export async function exportNoticePdf(
	db: Database,
	caller: Principal,
	input: unknown,
	context: NoticeContext
): Promise<NoticeFile> {
	const notice = await buildNotice(db, input);
	const bytes = await renderNoticePdf(notice);
	await auditExport(db, caller, notice, context, 'pdf');
	return { contentType: 'application/pdf', filename: noticeFilename(notice.reference), bytes };
}

/** `notice-<reference>.pdf`, the reference reduced to characters every file system and header take. */
export function noticeFilename(reference: string): string {
	return `notice-${reference.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '')}.pdf`;
}

/**
 * Builds the content of a notice. Throws `ValidationFailed` (400) for a malformed id,
 * `PredictionNotFound` (404) and `Conflict` (409) when the final decision is approve.
 */
export async function buildNotice(db: Database, input: unknown): Promise<AdverseActionNotice> {
	const parsed = noticeInputSchema.safeParse(input);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const id = parsed.data.predictionId.toLowerCase();
	const [stored] = await db
		.select({
			id: predictions.id,
			createdAt: predictions.createdAt,
			applicationId: predictions.applicationId,
			decision: predictions.decision,
			reasons: predictions.reasons,
			modelId: predictions.modelId,
			modelVersion: predictions.modelVersion
		})
		.from(predictions)
		.where(eq(predictions.id, id))
		.limit(1);
	if (!stored) throw new PredictionNotFound(`No prediction ${id}.`);
	const reviews = await reviewsOf(db, id);
	const outcome = noticeDecision(stored.decision, reviews);
	if ('refused' in outcome) throw new Conflict(outcome.refused);
	const final = reviews.at(-1);
	const date = final ? new Date(final.createdAt) : stored.createdAt;
	return {
		predictionId: stored.id,
		reference: stored.applicationId ?? stored.id,
		date: date.toISOString(),
		dateText: DATE_TEXT.format(date),
		decision: outcome.decision,
		decisionLabel: noticeDecisionLabels[outcome.decision],
		modelDecision: stored.decision,
		reviewed: final !== undefined,
		summary: decisionSentence({ decision: outcome.decision, reviewed: final !== undefined }),
		reasons: stored.reasons.slice(0, MAX_NOTICE_REASONS).map(({ code, text }) => ({ code, text })),
		lender: lenderOf(await getNoticeSettings(db)),
		model: { id: stored.modelId, version: stored.modelVersion }
	};
}

/** A notice with made-up applicant data, to preview the lender's settings (not an export). */
export async function sampleNotice(db: Database): Promise<AdverseActionNotice> {
	const date = new Date();
	return {
		predictionId: '00000000-0000-0000-0000-000000000000',
		reference: 'SAMPLE-0001',
		date: date.toISOString(),
		dateText: DATE_TEXT.format(date),
		decision: 'decline',
		decisionLabel: noticeDecisionLabels.decline,
		modelDecision: 'decline',
		reviewed: false,
		summary: decisionSentence({ decision: 'decline', reviewed: false }),
		reasons: [
			{ code: 'SAMPLE1', text: 'Revolving credit utilisation of 92 % is higher than for 90 % of applicants' },
			{ code: 'SAMPLE2', text: 'Inquiries in the last 6 months of 5 is higher than for 95 % of applicants' },
			{ code: 'SAMPLE3', text: 'Annual income of 28,000 USD is lower than for 85 % of applicants' }
		],
		lender: lenderOf(await getNoticeSettings(db)),
		model: { id: 'sample', version: 'preview' }
	};
}

/** The sample notice as a PDF. */
export async function sampleNoticePdf(db: Database): Promise<NoticeFile> {
	const notice = await sampleNotice(db);
	return {
		contentType: 'application/pdf',
		filename: 'notice-preview.pdf',
		bytes: await renderNoticePdf(notice)
	};
}

const DATE_TEXT = new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' });

function lenderOf(settings: NoticeSettings): AdverseActionNotice['lender'] {
	return {
		name: settings.lenderName,
		addressLines: settings.address.split('\n').filter((line) => line.length > 0),
		contact: settings.contact,
		statementOfRights: settings.statementOfRights,
		paperSize: settings.paperSize,
		isDefault: settings.isDefault
	};
}

async function auditExport(
	db: Database,
	caller: Principal,
	notice: AdverseActionNotice,
	context: NoticeContext,
	format: NoticeFormat
): Promise<void> {
	await recordAudit(db, {
		actor: caller,
		action: 'data.export',
		target: { type: 'prediction', id: notice.predictionId },
		ip: context.ip,
		requestId: context.requestId,
		details: {
			export: 'adverse_action_notice',
			format,
			channel: context.channel,
			decision: notice.decision,
			reviewed: notice.reviewed
		}
	});
}
