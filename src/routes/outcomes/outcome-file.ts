/**
 * The browser's side of an outcome upload: map a CSV's columns to the fields of `outcomes.record`,
 * turn each line into an outcome (cells the mapping cannot read are passed on as text, so the server
 * names the field and the problem), and build the results file. No DOM here. The server checks
 * every row again; nothing here decides what is valid.
 */
import Papa from 'papaparse';
import type { CsvFile } from '$lib/csv/read-csv';

export type OutcomeField =
	'predictionId' | 'applicationId' | 'defaulted' | 'observedAt' | 'lossAmount' | 'note';

/** Accepted header names of each field (compared without case). */
const ALIASES: Record<OutcomeField, readonly string[]> = {
	predictionId: ['prediction_id', 'predictionid'],
	applicationId: ['application_id', 'applicationid'],
	defaulted: ['defaulted', 'default'],
	observedAt: ['observed_at', 'observedat'],
	lossAmount: ['loss_amount', 'lossamount', 'loss'],
	note: ['note', 'reason']
};

export type ColumnMap =
	{ ok: true; fields: Map<number, OutcomeField>; ignored: string[] } | { ok: false; message: string };

/** Which column holds which field; refuses a header without an id column, defaulted or observed_at. */
export function mapColumns(columns: readonly string[]): ColumnMap {
	const fields = new Map<number, OutcomeField>();
	const ignored: string[] = [];
	const seen = new Set<OutcomeField>();
	columns.forEach((column, index) => {
		const name = column.trim().toLowerCase();
		const field = (Object.keys(ALIASES) as OutcomeField[]).find((f) => ALIASES[f].includes(name));
		if (field && !seen.has(field)) {
			fields.set(index, field);
			seen.add(field);
		} else ignored.push(column);
	});
	const missing = [
		...(seen.has('predictionId') || seen.has('applicationId') ? [] : ['prediction_id or application_id']),
		...(seen.has('defaulted') ? [] : ['defaulted']),
		...(seen.has('observedAt') ? [] : ['observed_at'])
	];
	if (missing.length > 0)
		return {
			ok: false,
			message: `The header needs the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`
		};
	return { ok: true, fields, ignored };
}

const TRUE = new Set(['1', 'true', 'yes', 'y']);
const FALSE = new Set(['0', 'false', 'no', 'n']);
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** One CSV line as an outcome of `outcomes.record`; blank cells are left out. */
export function outcomeOf(
	cells: readonly string[],
	fields: ReadonlyMap<number, OutcomeField>
): Record<string, unknown> {
	const outcome: Record<string, unknown> = {};
	for (const [index, field] of fields) {
		const cell = (cells[index] ?? '').trim();
		if (cell === '') continue;
		if (field === 'defaulted') {
			const word = cell.toLowerCase();
			outcome[field] = TRUE.has(word) ? true : FALSE.has(word) ? false : cell;
		} else if (field === 'lossAmount') outcome[field] = NUMBER.test(cell) ? Number(cell) : cell;
		else outcome[field] = cell;
	}
	return outcome;
}

/** One row's answer, as `outcomes.record` gives it (with `index` turned into the file's row). */
export interface OutcomeResult {
	row: number;
	status: 'recorded' | 'corrected' | 'unchanged' | 'rejected';
	predictionId?: string;
	version?: number;
	error?: { code: string; message: string; fieldErrors?: Record<string, string[]> };
}

/** The column a field came from, for messages ("observed_at: Cannot be in the future."). */
export function columnOf(
	field: string,
	columns: readonly string[],
	fields: ReadonlyMap<number, OutcomeField>
): string {
	for (const [index, f] of fields) if (f === field) return columns[index] ?? field;
	return field === '_root' ? '(row)' : field;
}

/** A row's problems in words, each prefixed with the column it concerns. */
export function problemsOf(
	result: OutcomeResult,
	columns: readonly string[],
	fields: ReadonlyMap<number, OutcomeField>
): string[] {
	const error = result.error;
	if (!error) return [];
	const byField = Object.entries(error.fieldErrors ?? {});
	if (byField.length === 0) return [error.message];
	return byField.map(([field, messages]) => `${columnOf(field, columns, fields)}: ${messages.join(' ')}`);
}

export const RESULT_COLUMNS = ['status', 'prediction_id', 'version', 'errors'] as const;

/** The results file: every uploaded row in its order with its columns, then its status, prediction, version and errors. */
export function resultsCsv(
	file: CsvFile,
	results: ReadonlyMap<number, OutcomeResult>,
	fields: ReadonlyMap<number, OutcomeField>
): string {
	const data = file.rows.map((cells, i) => {
		const result = results.get(i + 1);
		return [
			...file.columns.map((_, c) => cells[c] ?? ''),
			result?.status ?? 'not sent',
			result?.predictionId ?? '',
			result?.version === undefined ? '' : String(result.version),
			result ? problemsOf(result, file.columns, fields).join('; ') : ''
		];
	});
	return (
		Papa.unparse(
			{ fields: [...file.columns, ...RESULT_COLUMNS], data },
			{ newline: '\r\n', escapeFormulae: true }
		) + '\r\n'
	);
}
