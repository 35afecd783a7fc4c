/** Field-level validation messages keyed by the dotted path of the offending field. */
export type FieldErrors = Record<string, string[]>;

interface IssueLike {
	path: readonly PropertyKey[];
	message: string;
}

/** The key used for errors about the whole body rather than one field. */
export const ROOT_FIELD = '_root';

/**
 * Groups validation issues by field path (`rows.3.annual_inc`), keeping every message, so that a
 * caller sees every bad field at once.
 */
export function toFieldErrors(issues: readonly IssueLike[]): FieldErrors {
	const errors: FieldErrors = {};
	for (const issue of issues) {
		const key = issue.path.length === 0 ? ROOT_FIELD : issue.path.map(String).join('.');
		(errors[key] ??= []).push(issue.message);
	}
	return errors;
}
