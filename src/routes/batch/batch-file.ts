/**
 * The browser's side of batch scoring: read a CSV (`$lib/csv/read-csv`), cut it into request-sized
 * chunks, and build the results file. No DOM here.
 */
import Papa from 'papaparse';
import type { CsvFile } from '$lib/csv/read-csv';

export { chunked, readCsv, type CsvFile, type ReadOutcome } from '$lib/csv/read-csv';

export interface RowError {
	row: number;
	field: string;
	messages: string[];
}

export interface ScoredRow {
	row: number;
	predictionId: string;
	probability: number;
	points: number;
	band: string;
	decision: 'approve' | 'review' | 'decline';
	reasons: { code: string; text: string }[];
}

/** Extra columns of the results file, after the uploaded ones. */
export const RESULT_COLUMNS = [
	'status',
	'prediction_id',
	'probability_of_default',
	'points',
	'band',
	'decision',
	'reason_codes',
	'reasons',
	'errors'
] as const;

/**
 * The results file: every uploaded row in its order with its columns, then its status (`scored`
 * or `rejected`), prediction id, probability, points, band, decision and reasons — or its errors.
 */
export function resultsCsv(
	file: CsvFile,
	scored: ReadonlyMap<number, ScoredRow>,
	errors: readonly RowError[]
): string {
	const errorsByRow = new Map<number, string[]>();
	for (const error of errors) {
		const list = errorsByRow.get(error.row) ?? [];
		list.push(...error.messages);
		errorsByRow.set(error.row, list);
	}
	const data = file.rows.map((cells, i) => {
		const row = i + 1;
		const result = scored.get(row);
		const input = file.columns.map((_, c) => cells[c] ?? '');
		if (result) {
			return [
				...input,
				'scored',
				result.predictionId,
				result.probability.toFixed(6),
				String(result.points),
				result.band,
				result.decision,
				result.reasons.map((r) => r.code).join(' '),
				result.reasons.map((r) => r.text).join('; '),
				''
			];
		}
		const problems = errorsByRow.get(row);
		return [
			...input,
			problems ? 'rejected' : 'not scored',
			'',
			'',
			'',
			'',
			'',
			'',
			'',
			(problems ?? []).join('; ')
		];
	});
	return (
		Papa.unparse(
			{ fields: [...file.columns, ...RESULT_COLUMNS], data },
			{ newline: '\r\n', escapeFormulae: true }
		) + '\r\n'
	);
}
