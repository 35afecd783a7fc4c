/**
 * The zod schema of a raw applicant, generated from the manifest: the API's input schema, the
 * portal's form validation and the batch-CSV row check all come from here, so a new model needs no
 * code and the three cannot disagree. Messages are per field and use the feature's label.
 */
import { z } from 'zod';
import type { Feature, Manifest } from '../manifest';

/** Output of the schema: feature name → number, category, or null for missing. */
export type ApplicantValue = number | string | null;

/** A strict object schema: unknown fields are rejected. */
export type ApplicantSchema = z.ZodObject<Record<string, z.ZodType<ApplicantValue>>, z.core.$strict>;

export interface ApplicantSchemaOptions {
	/**
	 * Accept form and CSV text: `""` or whitespace becomes missing, numeric text becomes a number.
	 * Off for JSON APIs, where `"12"` for a number is a client bug worth reporting.
	 */
	coerce?: boolean;
}

/**
 * Builds the applicant schema for a model: types, inclusive ranges, whole numbers, allowed
 * categories, missing-value rules (missing = `null` or absent, only where `missingAllowed`), and
 * unknown fields rejected.
 */
export function buildApplicantSchema(
	manifest: Manifest,
	options: ApplicantSchemaOptions = {}
): ApplicantSchema {
	const shape: Record<string, z.ZodType<ApplicantValue>> = {};
	for (const f of manifest.features) shape[f.name] = fieldSchema(f, options.coerce === true);
	return z.strictObject(shape, {
		error: (iss) =>
			iss.code === 'unrecognized_keys' ? `unknown field(s): ${iss.keys.join(', ')}` : undefined
	});
}

function fieldSchema(f: Feature, coerce: boolean): z.ZodType<ApplicantValue> {
	const value: z.ZodType<number | string> = f.type === 'numeric' ? numberSchema(f) : categorySchema(f);
	const withMissing: z.ZodType<ApplicantValue> = f.missingAllowed ? value.nullable().default(null) : value;
	if (!coerce) return withMissing;
	return z.preprocess((v) => coerceText(v, f.type === 'numeric'), withMissing);
}

/** "X is required" for null or absent, else `otherwise`. */
function typeError(f: Feature, otherwise: string) {
	return (iss: { input?: unknown }): string =>
		iss.input === undefined || iss.input === null ? `${f.label} is required` : otherwise;
}

function numberSchema(f: Feature): z.ZodType<number> {
	let s = z.number({ error: typeError(f, `${f.label} must be a number`) });
	if (f.integer) s = s.int({ error: `${f.label} must be a whole number` });
	if (f.range !== null) {
		const unit = f.unit === null ? '' : ` ${f.unit}`;
		s = s
			.min(f.range.min, { error: `${f.label} must be at least ${f.range.min}${unit}` })
			.max(f.range.max, { error: `${f.label} must be at most ${f.range.max}${unit}` });
	}
	return s;
}

function categorySchema(f: Feature): z.ZodType<string> {
	const cats = f.categories ?? [];
	const [first, ...rest] = cats;
	if (first === undefined) return z.never({ error: `${f.label} has no allowed values` });
	return z.enum([first, ...rest], { error: typeError(f, `${f.label} must be one of: ${cats.join(', ')}`) });
}

function coerceText(v: unknown, numeric: boolean): unknown {
	if (typeof v !== 'string') return v;
	const t = v.trim();
	if (t === '' || t === 'NA') return null;
	if (!numeric) return t;
	const n = Number(t);
	return Number.isNaN(n) ? v : n;
}
