import { describe, expect, it } from 'vitest';
import Papa from 'papaparse';
import {
	guessFields,
	mapColumns,
	mappingOf,
	outcomeOf,
	problemsOf,
	resultsCsv,
	templateCsv,
	type OutcomeField,
	type OutcomeResult
} from './outcome-file';

describe('outcome file', () => {
	it('should map the documented columns, whatever their case, and list the others as ignored', () => {
		const map = mapColumns(['Application_ID', 'defaulted', 'observed_at', 'loss_amount', 'branch']);
		expect(map.ok && [...map.fields.entries()]).toEqual([
			[0, 'applicationId'],
			[1, 'defaulted'],
			[2, 'observedAt'],
			[3, 'lossAmount']
		]);
		expect(map.ok && map.ignored).toEqual(['branch']);
	});

	it('should refuse a header without an id column or observed_at, naming them', () => {
		expect(mapColumns(['defaulted', 'loss_amount'])).toEqual({
			ok: false,
			message: 'The header needs the columns prediction_id or application_id, observed_at.'
		});
	});

	it('should read yes/no, 1/0 and true/false, numbers, and pass anything else on as text', () => {
		const map = mapColumns(['prediction_id', 'defaulted', 'observed_at', 'loss_amount']);
		if (!map.ok) throw new Error(map.message);
		expect(outcomeOf(['abc', 'Yes', '2026-01-05', '1200.50'], map.fields)).toEqual({
			predictionId: 'abc',
			defaulted: true,
			observedAt: '2026-01-05',
			lossAmount: 1200.5
		});
		expect(outcomeOf(['abc', '0', '2026-01-05', ''], map.fields)).toEqual({
			predictionId: 'abc',
			defaulted: false,
			observedAt: '2026-01-05'
		});
		expect(outcomeOf(['abc', 'maybe', '05/01/2026', '1,200'], map.fields)).toMatchObject({
			defaulted: 'maybe',
			lossAmount: '1,200'
		});
	});

	it('should write every row with its status and its problems named by the file’s own columns', () => {
		const columns = ['prediction_id', 'defaulted', 'observed_at'];
		const fields = new Map<number, OutcomeField>([
			[0, 'predictionId'],
			[1, 'defaulted'],
			[2, 'observedAt']
		]);
		const rejected: OutcomeResult = {
			row: 2,
			status: 'rejected',
			error: { code: 'invalid', message: 'x', fieldErrors: { observedAt: ['Cannot be in the future.'] } }
		};
		expect(problemsOf(rejected, columns, fields)).toEqual(['observed_at: Cannot be in the future.']);
		const csv = resultsCsv(
			{
				columns,
				rows: [
					['a', '1', '2026-01-01'],
					['b', '0', '2999-01-01']
				]
			},
			new Map<number, OutcomeResult>([
				[1, { row: 1, status: 'recorded', predictionId: 'a', version: 1 }],
				[2, rejected]
			]),
			fields
		);
		expect(csv.split('\r\n')).toEqual([
			'prediction_id,defaulted,observed_at,status,prediction_id,version,errors',
			'a,1,2026-01-01,recorded,a,1,',
			'b,0,2999-01-01,rejected,,,observed_at: Cannot be in the future.',
			''
		]);
	});

	it('should take the mapping a person chose, and refuse a field taken from two columns', () => {
		const columns = ['loan', 'bad', 'seen', 'ref'];
		expect(guessFields(columns)).toEqual([null, null, null, null]);
		const map = mappingOf(columns, ['applicationId', 'defaulted', 'observedAt', null]);
		expect(map.ok && [...map.fields.values()]).toEqual(['applicationId', 'defaulted', 'observedAt']);
		expect(map.ok && map.ignored).toEqual(['ref']);
		expect(mappingOf(columns, ['applicationId', 'defaulted', 'observedAt', 'applicationId'])).toEqual({
			ok: false,
			message: 'Each field comes from one column: application_id is chosen twice.'
		});
	});

	it('should offer a template whose header maps to every field', () => {
		const [header = [], example = []] = Papa.parse<string[]>(templateCsv(), { skipEmptyLines: true }).data;
		const map = mapColumns(header);
		expect(map.ok && [...map.fields.values()]).toEqual([
			'predictionId',
			'applicationId',
			'defaulted',
			'observedAt',
			'lossAmount',
			'note'
		]);
		expect(map.ok && outcomeOf(example, map.fields)).toEqual({
			applicationId: 'LOS-2025-000123',
			defaulted: true,
			observedAt: '2026-01-31',
			lossAmount: 1250
		});
	});

	it('should write the rejected rows alone, with their reason, when asked', () => {
		const file = {
			columns: ['application_id', 'defaulted'],
			rows: [
				['A', '1'],
				['B', 'maybe'],
				['C', '0']
			]
		};
		const fields = new Map<number, OutcomeField>([
			[0, 'applicationId'],
			[1, 'defaulted']
		]);
		const results = new Map<number, OutcomeResult>([
			[1, { row: 1, status: 'recorded', predictionId: 'p1', version: 1 }],
			[
				2,
				{
					row: 2,
					status: 'rejected',
					error: { code: 'invalid', message: 'x', fieldErrors: { defaulted: ['Give true or false.'] } }
				}
			],
			[
				3,
				{
					row: 3,
					status: 'rejected',
					error: { code: 'not_found', message: 'No prediction with this applicationId that you may see.' }
				}
			]
		]);
		expect(resultsCsv(file, results, fields, true).split('\r\n')).toEqual([
			'application_id,defaulted,status,prediction_id,version,errors',
			'B,maybe,rejected,,,defaulted: Give true or false.',
			'C,0,rejected,,,No prediction with this applicationId that you may see.',
			''
		]);
	});
});
