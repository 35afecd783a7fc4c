/**
 * Batch scoring from the portal: a CSV whose header names the model's features, parsed in the
 * browser and sent here in chunks. An `applicationId` (or `application_id`) column is recorded as
 * each row's application reference; any other column that is not a feature (an internal id,
 * `addr_state`…) is passed through to the results file untouched and named back to the person. Each chunk is checked against the model's lenient form schema
 * (the one generated from the manifest for forms and CSV: text → numbers, blank → missing), so the
 * person sees every bad cell — row, field, message — before anything is scored; valid rows are then
 * scored through the scoring procedure (recorded like any other decision).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import { z } from 'zod';
import { goldenRowSchema, type RawApplicant } from '$inference/manifest';
import { APPLICATION_ID_COLUMNS, applicationId } from '$lib/validation/application-id';
import { ROOT_FIELD, toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import { ValidationFailed } from '../errors';
import type { ModelVersion } from './models.service';

/** Rows of one file the portal takes (the batch API's limit per call); bigger files go to the API. */
export const MAX_FILE_ROWS = 10_000;
/** Largest file the portal reads, in bytes. */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;
/** Rows per request: keeps each request well under the server's body limit and the UI moving. */
export const MAX_CHUNK_ROWS = 500;

/** One chunk of a CSV, as the batch page sends it. */
export const batchChunkSchema = z.strictObject({
	version: z.string().min(1).max(64).optional(),
	/** The file's header, in file order. */
	columns: z.array(z.string().max(100)).min(1).max(200),
	/** Cells as text, in the order of `columns`. */
	rows: z
		.array(z.array(z.string().max(1000)).max(200))
		.min(1)
		.max(MAX_CHUNK_ROWS),
	/** Line number in the file (1 = first data row) of `rows[0]`, for the messages. */
	firstRow: z.number().int().min(1).max(1_000_000).default(1)
});
export type BatchChunk = z.output<typeof batchChunkSchema>;

/** A bad cell (or a bad row): the row number as in the file, the column, and what is wrong. */
export interface RowError {
	row: number;
	/** Feature name, or `_root` for the row as a whole (e.g. a wrong number of cells). */
	field: string;
	messages: string[];
}

export interface CheckedChunk {
	valid: { row: number; applicant: RawApplicant; applicationId: string | null }[];
	errors: RowError[];
	/** Columns that are neither a feature nor the application reference: kept, not scored. */
	passedThrough: string[];
}

/** Parses a chunk body; throws `ValidationFailed` naming the bad part. */
export function parseChunk(body: unknown): BatchChunk {
	const parsed = batchChunkSchema.safeParse(body);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	return parsed.data;
}

/**
 * Checks the header against the model's features: no column twice, no blank column name, at most
 * one application-reference column, and every feature that may not be missing must be there.
 * Other columns are allowed (passed through). Errors are keyed `columns`.
 */
export function checkColumns(version: ModelVersion, columns: readonly string[]): FieldErrors {
	const features = version.manifest.features;
	const seen = new Set<string>();
	const messages: string[] = [];
	const trimmed = columns.map((c) => c.trim());
	const twice = trimmed.filter((c) => (seen.has(c) ? true : (seen.add(c), false)));
	const missing = features.filter((f) => !f.missingAllowed && !seen.has(f.name)).map((f) => f.name);
	const references = trimmed.filter((c) => APPLICATION_ID_COLUMNS.includes(c));
	if (trimmed.includes('')) messages.push('A column has no name: name it, or remove it.');
	if (references.length > 1)
		messages.push(`Give the application reference once: ${references.join(' and ')} are both there.`);
	if (twice.length) messages.push(`Column(s) given twice: ${[...new Set(twice)].join(', ')}.`);
	if (missing.length) messages.push(`Missing column(s): ${missing.join(', ')}.`);
	if (messages.length) messages.push('Download the template for the expected header.');
	return messages.length ? { columns: messages } : {};
}

/**
 * Checks every row of a chunk against the model's form schema. Throws `ValidationFailed` when the
 * header itself is wrong (nothing can be said about the rows then).
 */
export function checkChunk(version: ModelVersion, chunk: BatchChunk): CheckedChunk {
	const headerErrors = checkColumns(version, chunk.columns);
	if (Object.keys(headerErrors).length)
		throw new ValidationFailed(headerErrors, 'The CSV header does not match the model.');
	const columns = chunk.columns.map((c) => c.trim());
	const featureNames = new Set(version.manifest.features.map((f) => f.name));
	const reference = columns.findIndex((c) => APPLICATION_ID_COLUMNS.includes(c));
	const passedThrough = columns.filter((c, i) => !featureNames.has(c) && i !== reference);
	const valid: CheckedChunk['valid'] = [];
	const errors: RowError[] = [];
	chunk.rows.forEach((cells, i) => {
		const row = chunk.firstRow + i;
		if (cells.length !== columns.length) {
			errors.push({
				row,
				field: ROOT_FIELD,
				messages: [`Expected ${columns.length} cells, found ${cells.length}.`]
			});
			return;
		}
		const raw: Record<string, string> = {};
		columns.forEach((column, c) => {
			if (featureNames.has(column)) raw[column] = cells[c] ?? '';
		});
		const parsed = version.formSchema.safeParse(raw);
		const id = referenceOf(reference < 0 ? '' : (cells[reference] ?? ''));
		if (!id.ok) errors.push({ row, field: columns[reference] ?? 'applicationId', messages: id.messages });
		if (parsed.success) {
			if (id.ok) valid.push({ row, applicant: parsed.data, applicationId: id.value });
			return;
		}
		for (const [field, messages] of Object.entries(toFieldErrors(parsed.error.issues)))
			errors.push({ row, field, messages });
	});
	return { valid, errors, passedThrough };
}

/** A cell of the reference column: blank is no reference; otherwise it must be a valid one. */
function referenceOf(cell: string): { ok: true; value: string | null } | { ok: false; messages: string[] } {
	const text = cell.trim();
	if (text === '') return { ok: true, value: null };
	const parsed = applicationId.safeParse(text);
	return parsed.success
		? { ok: true, value: parsed.data }
		: { ok: false, messages: parsed.error.issues.map((issue) => issue.message) };
}

/** Row errors as field errors keyed `rows.<row>.<field>` (the shape of every 400 in Credible). */
export function rowFieldErrors(errors: readonly RowError[]): FieldErrors {
	const out: FieldErrors = {};
	for (const error of errors) (out[`rows.${error.row}.${error.field}`] ??= []).push(...error.messages);
	return out;
}

/**
 * The CSV template of a model version: the header (feature names, in manifest order) and one
 * example row taken from the bundle's golden file, so the expected formats are plain to see.
 */
export async function templateCsv(version: ModelVersion): Promise<string> {
	const features = version.manifest.features.map((f) => f.name);
	const example = await firstGoldenRow(version);
	const rows = example ? [features.map((name) => csvCell(example[name] ?? null))] : [];
	return Papa.unparse({ fields: features, data: rows }, { newline: '\r\n' }) + '\r\n';
}

async function firstGoldenRow(version: ModelVersion): Promise<RawApplicant | null> {
	try {
		const text = await readFile(path.join(version.bundle.dir, version.manifest.golden.path), 'utf8');
		const line = text.split('\n', 1)[0]?.trim() ?? '';
		return goldenRowSchema.parse(JSON.parse(line)).raw;
	} catch {
		// A template without an example is still a template.
		return null;
	}
}

function csvCell(value: number | string | null): string {
	return value === null ? '' : String(value);
}
