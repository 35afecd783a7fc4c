import { describe, expect, it } from 'vitest';
import { observedDateError, parseOutcomeRow } from './outcome-rows';

const id = '0b6c4a52-5c1e-4d3e-9f3c-2d5b1f1c9a01';

describe('outcome rows', () => {
	it('should accept a day that has begun somewhere on earth, and refuse the one after', () => {
		const now = new Date('2026-03-01T11:00:00Z'); // 01:00 on 2 March at UTC+14
		expect(parseOutcomeRow({ predictionId: id, defaulted: false, observedAt: '2026-03-02' }, now).ok).toBe(
			true
		);
		expect(parseOutcomeRow({ predictionId: id, defaulted: false, observedAt: '2026-03-03' }, now)).toEqual({
			ok: false,
			fieldErrors: { observedAt: ['Cannot be in the future.'] }
		});
	});

	it("should accept the decision's day as a lender west of UTC knows it, and refuse the day before", () => {
		const decided = new Date('2026-03-02T05:00:00Z'); // still 1 March at UTC-12
		expect(observedDateError('2026-03-01', decided)).toBeNull();
		expect(observedDateError('2026-02-28', decided)).toMatch(/before the decision \(2026-03-02\)/);
	});

	it('should round a loss to the cent, lower-case a prediction id and drop an empty note', () => {
		const parsed = parseOutcomeRow(
			{
				predictionId: id.toUpperCase(),
				defaulted: true,
				observedAt: '2026-01-05',
				lossAmount: 10.126,
				note: ' '
			},
			new Date('2026-03-01T00:00:00Z')
		);
		expect(parsed).toEqual({
			ok: true,
			row: { predictionId: id, defaulted: true, observedAt: '2026-01-05', lossAmount: 10.13, note: undefined }
		});
	});

	it('should refuse an impossible calendar day and a row naming no prediction', () => {
		const parsed = parseOutcomeRow({ defaulted: false, observedAt: '2025-02-29' }, new Date());
		expect(parsed.ok || Object.keys(parsed.fieldErrors).sort()).toEqual(['observedAt', 'predictionId']);
	});
});
