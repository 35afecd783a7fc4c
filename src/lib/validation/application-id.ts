import { z } from 'zod';

/**
 * The caller's reference of an application, e.g. its id in the loan-origination system: recorded
 * with the decision and searchable in the history. Shared by the API, the portal form and CSV files.
 */
export const applicationId = z
	.string()
	.min(1)
	.max(64)
	.regex(
		/^[A-Za-z0-9][A-Za-z0-9._:/#-]*$/,
		'letters, digits and . _ : / # - only, starting with a letter or digit'
	)
	.describe('Your reference of the application (e.g. its loan-origination id); stored and searchable.');

/** CSV columns read as the application reference rather than as a model input. */
export const APPLICATION_ID_COLUMNS: readonly string[] = ['applicationId', 'application_id'];
