/**
 * One outcome row as a caller sends it, checked without the database: which prediction (by its id
 * or by the caller's application reference), whether it defaulted, the day that was observed and,
 * optionally, the amount lost. A bad row gets its own field errors and never fails the call, like a
 * bad row of a scoring batch. The rules that need the prediction (the day is not before its
 * decision) are `observedDateError`.
 */
import { z } from 'zod';
import { applicationId } from '$lib/validation/application-id';
import { toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import { ValidationFailed } from '../errors';

/** Most outcome rows in one call (REST, tRPC or one CSV file). */
export const MAX_OUTCOME_ROWS = 10_000;
/** Largest loss amount accepted (the column holds 13 digits before the decimal point). */
export const MAX_LOSS_AMOUNT = 1_000_000_000_000;
export const MAX_NOTE_LENGTH = 500;

const HOUR_MS = 3_600_000;

export const outcomeRowSchema = z
	.strictObject({
		predictionId: z
			.uuid({ error: 'Not a prediction id.' })
			.transform((id) => id.toLowerCase())
			.optional()
			.describe('The prediction id the scoring answer gave. Give this or applicationId.'),
		applicationId: applicationId
			.optional()
			.describe('Your reference of the application, as sent when it was scored. Give this or predictionId.'),
		defaulted: z.boolean({ error: 'Give true or false.' }).describe('Whether the loan defaulted.'),
		observedAt: z.iso
			.date({ error: 'A date as YYYY-MM-DD.' })
			.describe('The day the outcome was observed (YYYY-MM-DD): not before the decision, not in the future.'),
		lossAmount: z
			.number({ error: 'A number, or null.' })
			.min(0, 'Cannot be negative.')
			.max(MAX_LOSS_AMOUNT, 'At most 1,000,000,000,000.')
			.transform((amount) => Number(amount.toFixed(2)))
			.nullable()
			.optional()
			.describe('Amount lost, in the loan currency, rounded to the cent; only with a default.'),
		note: z
			.string({ error: 'Text, or leave it out.' })
			.trim()
			.max(MAX_NOTE_LENGTH, `At most ${MAX_NOTE_LENGTH} characters.`)
			.transform((note) => (note === '' ? undefined : note))
			.optional()
			.describe('Why this corrects an earlier outcome, or any remark; kept with the version.')
	})
	// Which prediction is checked even when other fields are bad, so that every message comes at once.
	.superRefine(
		(row, context) => {
			if ((row.predictionId === undefined) === (row.applicationId === undefined)) {
				const message =
					row.predictionId === undefined
						? 'Give the predictionId or the applicationId.'
						: 'Give the predictionId or the applicationId, not both.';
				context.addIssue({ code: 'custom', path: ['predictionId'], message });
			}
		},
		{ when: (payload) => typeof payload.value === 'object' && payload.value !== null }
	)
	.superRefine((row, context) => {
		if (!row.defaulted && row.lossAmount !== undefined && row.lossAmount !== null && row.lossAmount > 0) {
			context.addIssue({
				code: 'custom',
				path: ['lossAmount'],
				message: 'Only a default has a loss; leave it out or set defaulted to true.'
			});
		}
	});

export type OutcomeRow = z.output<typeof outcomeRowSchema>;

/** The row's own checks: the parsed row, or its field errors. */
export function parseOutcomeRow(
	value: unknown,
	now: Date
): { ok: true; row: OutcomeRow } | { ok: false; fieldErrors: FieldErrors } {
	const parsed = outcomeRowSchema.safeParse(value);
	if (!parsed.success) return { ok: false, fieldErrors: toFieldErrors(parsed.error.issues) };
	// Calendar days: a day is not in the future while it has begun anywhere (UTC+14).
	const latest = dayOf(new Date(now.getTime() + 14 * HOUR_MS));
	if (parsed.data.observedAt > latest)
		return { ok: false, fieldErrors: { observedAt: ['Cannot be in the future.'] } };
	return { ok: true, row: parsed.data };
}

/**
 * The error of an observed day before the decision, or null. The decision's day is taken where it
 * began earliest (UTC−12), so that a lender's local date of the decision is never refused.
 */
export function observedDateError(observedAt: string, decidedAt: Date): string | null {
	const earliest = dayOf(new Date(decidedAt.getTime() - 12 * HOUR_MS));
	return observedAt < earliest ? `Cannot be before the decision (${dayOf(decidedAt)}).` : null;
}

/** The UTC calendar day of an instant, YYYY-MM-DD. */
function dayOf(instant: Date): string {
	return instant.toISOString().slice(0, 10);
}

/**
 * The documented shape of a row in the API: checked row by row in the service (so that a row that
 * is not even an object gets its own error and the call goes on), described as the object it must be.
 */
export const outcomeRowDocumented = z.unknown().meta({
	...(() => {
		const { $schema: _schema, ...schema } = z.toJSONSchema(outcomeRowSchema, { io: 'input' });
		return schema;
	})(),
	description:
		'One outcome: predictionId or applicationId, defaulted, observedAt, optionally lossAmount and note.'
});

/** Rows the portal's upload sends per request: small enough to show progress, few requests. */
export const OUTCOME_CHUNK_ROWS = 1_000;

/**
 * One chunk of the portal's upload, as the page posts it: the rows only (the source is the
 * endpoint's, `csv`). Each row is checked on its own by the service, so a bad row is an answer,
 * not a refused chunk.
 */
const outcomeChunkSchema = z.strictObject({
	outcomes: z
		.array(z.unknown(), { error: 'A list of outcomes.' })
		.min(1, 'Give at least one outcome.')
		.max(OUTCOME_CHUNK_ROWS, `At most ${OUTCOME_CHUNK_ROWS.toLocaleString('en')} outcomes per chunk.`)
});

/** The chunk's rows, or `ValidationFailed` (400) with field errors. */
export function parseOutcomeChunk(body: unknown): { outcomes: unknown[] } {
	const parsed = outcomeChunkSchema.safeParse(body);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	return parsed.data;
}
