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

/** The fields in the order the page offers them, with the column name of the template. */
export const FIELD_COLUMNS: readonly { field: OutcomeField; column: string; required: boolean }[] = [
	{ field: 'predictionId', column: 'prediction_id', required: false },
	{ field: 'applicationId', column: 'application_id', required: false },
	{ field: 'defaulted', column: 'defaulted', required: true },
	{ field: 'observedAt', column: 'observed_at', required: true },
	{ field: 'lossAmount', column: 'loss_amount', required: false },
	{ field: 'note', column: 'note', required: false }
];

/** The template: the header, and one example row naming the loan by its application reference. */
export function templateCsv(): string {
	return (
		Papa.unparse(
			{
				fields: FIELD_COLUMNS.map((f) => f.column),
				data: [['', 'LOS-2025-000123', 'yes', '2026-01-31', '1250.00', '']]
			},
			{ newline: '\r\n' }
		) + '\r\n'
	);
}

export type ColumnMap =
	{ ok: true; fields: Map<number, OutcomeField>; ignored: string[] } | { ok: false; message: string };

/** The field each column most likely holds, by its header name (null: not read). */
export function guessFields(columns: readonly string[]): (OutcomeField | null)[] {
	const seen = new Set<OutcomeField>();
	return columns.map((column) => {
		const name = column.trim().toLowerCase();
		const field = (Object.keys(ALIASES) as OutcomeField[]).find((f) => ALIASES[f].includes(name));
		if (!field || seen.has(field)) return null;
		seen.add(field);
		return field;
	});
}

/**
 * The mapping a person chose (one field or null per column); refuses one without an id column,
 * defaulted or observed_at, or with a field taken from two columns.
 */
export function mappingOf(columns: readonly string[], chosen: readonly (OutcomeField | null)[]): ColumnMap {
	const fields = new Map<number, OutcomeField>();
	const ignored: string[] = [];
	const twice = new Set<string>();
	columns.forEach((column, index) => {
		const field = chosen[index] ?? null;
		if (field === null) ignored.push(column);
		else {
			if ([...fields.values()].includes(field)) twice.add(columnName(field));
			fields.set(index, field);
		}
	});
	if (twice.size > 0)
		return {
			ok: false,
			message: `Each field comes from one column: ${[...twice].join(', ')} is chosen twice.`
		};
	const seen = new Set(fields.values());
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

/** Which column holds which field, guessed from the header names. */
export function mapColumns(columns: readonly string[]): ColumnMap {
	return mappingOf(columns, guessFields(columns));
}

function columnName(field: OutcomeField): string {
	return FIELD_COLUMNS.find((f) => f.field === field)?.column ?? field;
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

/**
 * The results file: the uploaded rows in their order with their columns, then their status,
 * prediction, version and errors; `rejectedOnly` keeps the rejected rows alone (to fix and send again).
 */
export function resultsCsv(
	file: CsvFile,
	results: ReadonlyMap<number, OutcomeResult>,
	fields: ReadonlyMap<number, OutcomeField>,
	rejectedOnly = false
): string {
	const data = file.rows.flatMap((cells, i) => {
		const result = results.get(i + 1);
		if (rejectedOnly && result?.status !== 'rejected') return [];
		return [
			[
				...file.columns.map((_, c) => cells[c] ?? ''),
				result?.status ?? 'not sent',
				result?.predictionId ?? '',
				result?.version === undefined ? '' : String(result.version),
				result ? problemsOf(result, file.columns, fields).join('; ') : ''
			]
		];
	});
	return (
		Papa.unparse(
			{ fields: [...file.columns, ...RESULT_COLUMNS], data },
			{ newline: '\r\n', escapeFormulae: true }
		) + '\r\n'
	);
}
