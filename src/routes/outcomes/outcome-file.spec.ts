import { describe, expect, it } from 'vitest';
import {
	mapColumns,
	outcomeOf,
	problemsOf,
	resultsCsv,
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
});
