/**
 * The applicant form's checks in the browser, so a person sees a message at a field before
 * anything is sent. They mirror the server's schema (generated from the same manifest), which
 * stays the authority: the server checks every submission again.
 */
import type { FormFieldSpec, FormValues } from './types';

export type FormErrors = Record<string, string[]>;

/** Messages per field; an empty object when every field is acceptable. */
export function validateApplicant(fields: readonly FormFieldSpec[], values: FormValues): FormErrors {
	const errors: FormErrors = {};
	for (const f of fields) {
		const message = fieldProblem(f, (values[f.name] ?? '').trim());
		if (message) errors[f.name] = [message];
	}
	return errors;
}

/** The problem with one field's text, or null. */
export function fieldProblem(f: FormFieldSpec, text: string): string | null {
	if (text === '' || text === 'NA') return f.missingAllowed ? null : `${f.label} is required`;
	if (f.type !== 'numeric') {
		const allowed = f.options?.map((o) => o.value) ?? [];
		return allowed.includes(text) ? null : `${f.label} must be one of: ${allowed.join(', ')}`;
	}
	const n = Number(text);
	if (!Number.isFinite(n)) return `${f.label} must be a number`;
	if (f.integer && !Number.isInteger(n)) return `${f.label} must be a whole number`;
	const unit = f.unit === null ? '' : ` ${f.unit}`;
	if (f.range && n < f.range.min) return `${f.label} must be at least ${f.range.min}${unit}`;
	if (f.range && n > f.range.max) return `${f.label} must be at most ${f.range.max}${unit}`;
	return null;
}
