/**
 * The lender's details printed on every adverse-action notice — name, postal address, an optional
 * contact line, the statement of rights and the paper size — kept under one key of `app_settings`
 * and changed by administrators (audited). Until someone saves them the built-in defaults apply:
 * a generic statement modelled on the ECOA / Regulation B notice, to be reviewed by the lender's
 * counsel before use (it is a template, not legal advice).
 */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { toFieldErrors } from '$lib/validation/field-errors';
import type { Database } from '../../db';
import { appSettings } from '../../db/schema';
import { ValidationFailed } from '../../errors';
import { writeSetting, type SettingsCaller } from '../settings.service';

export const NOTICE_SETTINGS_KEY = 'adverse_action_notice';

export const paperSizes = ['LETTER', 'A4'] as const;
export type PaperSize = (typeof paperSizes)[number];

/** The statement of rights printed when the lender has not written its own. */
export const DEFAULT_STATEMENT_OF_RIGHTS = [
	'You have the right to a statement of the specific reasons for this decision; the principal reasons are listed above. ' +
		'If you have questions about this decision, or believe that information used in it is inaccurate or incomplete, ' +
		'contact us at the address above within 60 days of the date of this notice.',
	'The federal Equal Credit Opportunity Act prohibits creditors from discriminating against credit applicants on the basis ' +
		'of race, color, religion, national origin, sex, marital status or age (provided the applicant has the capacity to enter ' +
		'into a binding contract); because all or part of the applicant’s income derives from any public assistance program; or ' +
		'because the applicant has in good faith exercised any right under the Consumer Credit Protection Act.'
].join('\n\n');

const MAX_ADDRESS_LINES = 6;

/** Turns CRLF into LF and trims each line, so a pasted address prints as it reads. */
const multiline = (value: string) =>
	value
		.replace(/\r\n?/g, '\n')
		.split('\n')
		.map((line) => line.trim())
		.join('\n')
		.trim();

export const noticeSettingsSchema = z.strictObject({
	lenderName: z
		.string({ error: 'Give the lender’s name.' })
		.trim()
		.min(2, 'Give the lender’s name (at least 2 characters).')
		.max(120, 'At most 120 characters.'),
	address: z
		.string({ error: 'Give the lender’s postal address.' })
		.transform(multiline)
		.pipe(
			z
				.string()
				.min(5, 'Give the lender’s postal address.')
				.max(400, 'At most 400 characters.')
				.refine(
					(value) => value.split('\n').length <= MAX_ADDRESS_LINES,
					`At most ${MAX_ADDRESS_LINES} lines.`
				)
		),
	contact: z
		.string()
		.trim()
		.max(200, 'At most 200 characters.')
		.nullish()
		.transform((value) => (value ? value : null)),
	statementOfRights: z
		.string({ error: 'Give the statement of rights.' })
		.transform(multiline)
		.pipe(
			z
				.string()
				.min(40, 'Give the statement of rights (at least 40 characters).')
				.max(4000, 'At most 4,000 characters.')
		),
	paperSize: z.enum(paperSizes, { error: 'Choose Letter or A4.' }).default('LETTER')
});

export type NoticeSettingsInput = z.input<typeof noticeSettingsSchema>;

export interface NoticeSettings {
	lenderName: string;
	/** Multi-line postal address (LF between lines). */
	address: string;
	contact: string | null;
	statementOfRights: string;
	paperSize: PaperSize;
	/** True while no administrator has saved them: the built-in defaults apply. */
	isDefault: boolean;
}

export const DEFAULT_NOTICE_SETTINGS: NoticeSettings = {
	lenderName: 'Your lender',
	address: 'Set the lender’s name and address under Administration → Adverse-action notices.',
	contact: null,
	statementOfRights: DEFAULT_STATEMENT_OF_RIGHTS,
	paperSize: 'LETTER',
	isDefault: true
};

/** The saved settings, or the defaults when none were saved (or the stored value no longer parses). */
export async function getNoticeSettings(db: Pick<Database, 'select'>): Promise<NoticeSettings> {
	const [row] = await db.select().from(appSettings).where(eq(appSettings.key, NOTICE_SETTINGS_KEY));
	const parsed = noticeSettingsSchema.safeParse(row?.value);
	return parsed.success ? { ...parsed.data, isDefault: false } : DEFAULT_NOTICE_SETTINGS;
}

/** Validates and saves the lender's details, with an audit entry naming the fields changed. */
export async function saveNoticeSettings(
	db: Database,
	caller: SettingsCaller,
	input: unknown
): Promise<NoticeSettings> {
	const parsed = noticeSettingsSchema.safeParse(input);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const value = parsed.data;
	await db.transaction(async (tx) => {
		const before = await getNoticeSettings(tx);
		const changed = (Object.keys(value) as (keyof typeof value)[]).filter(
			(key) => before.isDefault || before[key] !== value[key]
		);
		await writeSetting(tx, caller, NOTICE_SETTINGS_KEY, value, { changed });
	});
	return { ...value, isDefault: false };
}
