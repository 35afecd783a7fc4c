/**
 * Batch scoring from the portal: a CSV whose header names the model's features, parsed in the
 * browser and sent here in chunks. Each chunk is checked against the model's lenient form schema
 * (the one generated from the manifest for forms and CSV: text → numbers, blank → missing), so the
 * person sees every bad cell — row, field, message — before anything is scored; valid rows are then
 * scored through the scoring procedure (recorded like any other decision).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import { z } from 'zod';
import { goldenRowSchema, type RawApplicant } from '$inference/manifest';
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
	valid: { row: number; applicant: RawApplicant }[];
	errors: RowError[];
}

/** Parses a chunk body; throws `ValidationFailed` naming the bad part. */
export function parseChunk(body: unknown): BatchChunk {
	const parsed = batchChunkSchema.safeParse(body);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	return parsed.data;
}

/**
 * Checks the header against the model's features: every column must be a feature, no column twice,
 * and every feature that may not be missing must be there. Errors are keyed `columns`.
 */
export function checkColumns(version: ModelVersion, columns: readonly string[]): FieldErrors {
	const features = version.manifest.features;
	const known = new Set(features.map((f) => f.name));
	const seen = new Set<string>();
	const messages: string[] = [];
	const trimmed = columns.map((c) => c.trim());
	const unknown = trimmed.filter((c) => !known.has(c));
	const twice = trimmed.filter((c) => (seen.has(c) ? true : (seen.add(c), false)));
	const missing = features.filter((f) => !f.missingAllowed && !seen.has(f.name)).map((f) => f.name);
	if (unknown.length) messages.push(`Unknown column(s): ${unknown.map(show).join(', ')}.`);
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
		columns.forEach((column, c) => (raw[column] = cells[c] ?? ''));
		const parsed = version.formSchema.safeParse(raw);
		if (parsed.success) {
			valid.push({ row, applicant: parsed.data });
			return;
		}
		for (const [field, messages] of Object.entries(toFieldErrors(parsed.error.issues)))
			errors.push({ row, field, messages });
	});
	return { valid, errors };
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

function show(column: string): string {
	return column === '' ? '(blank)' : column;
}
