/** Checking an applicant against its model's manifest. */
import type { RawApplicant } from '$inference/manifest';
import { toFieldErrors } from '$lib/validation/field-errors';
import { ValidationFailed } from '../../errors';
import { inSpanSync } from '../../observability/tracing';
import type { ModelVersion } from '../models.service';

/** Validates an applicant: the compiled check first (the hot path), the schema to name what is wrong. */
export function parseApplicant(
	version: ModelVersion,
	raw: unknown
): { success: true; data: RawApplicant } | ReturnType<ModelVersion['applicantSchema']['safeParse']> {
	const checked = version.checkApplicant(raw);
	return checked ? { success: true, data: checked } : version.applicantSchema.safeParse(raw);
}

/** The applicant, or a {@link ValidationFailed} whose field paths start with `prefix`. */
export function validateApplicant(version: ModelVersion, raw: unknown, prefix: string): RawApplicant {
	return inSpanSync('scoring.validate', { 'credible.model': version.key }, () => {
		const parsed = parseApplicant(version, raw);
		if (parsed.success) return parsed.data;
		const errors = toFieldErrors(
			parsed.error.issues.map((issue) => ({ ...issue, path: [prefix, ...issue.path] }))
		);
		throw new ValidationFailed(errors);
	});
}
