import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { chunked, resultsCsv, RESULT_COLUMNS, type ScoredRow } from './batch-file';

describe('chunked', () => {
	it('should cut a list into runs of at most the size, numbering rows from 1', () => {
		const chunks = chunked(['a', 'b', 'c', 'd', 'e'], 2);
		expect(chunks).toEqual([
			{ firstRow: 1, items: ['a', 'b'] },
			{ firstRow: 3, items: ['c', 'd'] },
			{ firstRow: 5, items: ['e'] }
		]);
		expect(chunked([], 3)).toEqual([]);
	});
});

describe('resultsCsv', () => {
	const file = {
		columns: ['annual_inc', 'term'],
		rows: [
			['50000', 'term_36'],
			['lots', 'term_60'],
			['=cmd|calc', 'term_36']
		]
	};
	const scored = new Map<number, ScoredRow>([
		[
			1,
			{
				row: 1,
				predictionId: 'p-1',
				probability: 0.0421,
				points: 612,
				band: 'B',
				decision: 'approve',
				reasons: [
					{ code: 'LC06', text: 'Income is low' },
					{ code: 'LC02', text: 'Loan term is long' }
				]
			}
		]
	]);

	it('should keep every uploaded row in order, with its result or its errors', () => {
		const text = resultsCsv(file, scored, [
			{ row: 2, field: 'annual_inc', messages: ['Annual income must be a number'] }
		]);
		const [header, ...rows] = Papa.parse<string[]>(text.trim()).data;
		expect(header).toEqual([...file.columns, ...RESULT_COLUMNS]);
		expect(rows).toHaveLength(3);
		expect(rows[0]).toEqual([
			'50000',
			'term_36',
			'scored',
			'p-1',
			'0.042100',
			'612',
			'B',
			'approve',
			'LC06 LC02',
			'Income is low; Loan term is long',
			''
		]);
		expect(rows[1]?.slice(0, 3)).toEqual(['lots', 'term_60', 'rejected']);
		expect(rows[1]?.at(-1)).toBe('Annual income must be a number');
		expect(rows[2]?.[2]).toBe('not scored');
	});

	it('should defuse cells a spreadsheet would run as formulas', () => {
		const text = resultsCsv(file, scored, []);
		expect(text).toContain("'=cmd|calc");
	});
});
