import { describe, expect, it } from 'vitest';
import { periodOf } from './content';

const iso = (period: { from: Date; to: Date }) => [period.from.toISOString(), period.to.toISOString()];

describe('periodOf', () => {
	it('should report the last whole UTC day before a daily occurrence', () => {
		expect(iso(periodOf('daily', new Date('2026-03-03T06:00:00Z')))).toEqual([
			'2026-03-02T00:00:00.000Z',
			'2026-03-03T00:00:00.000Z'
		]);
		// An occurrence just after midnight UTC reports on the day that just ended.
		expect(iso(periodOf('daily', new Date('2026-03-03T00:00:00.001Z')))[0]).toBe('2026-03-02T00:00:00.000Z');
		expect(iso(periodOf('daily', new Date('2026-01-01T05:00:00Z')))[0]).toBe('2025-12-31T00:00:00.000Z');
	});

	it('should report the last whole Monday-to-Monday UTC week before a weekly occurrence', () => {
		const week = ['2026-02-23T00:00:00.000Z', '2026-03-02T00:00:00.000Z'];
		expect(iso(periodOf('weekly', new Date('2026-03-02T06:00:00Z')))).toEqual(week); // Monday
		expect(iso(periodOf('weekly', new Date('2026-03-08T23:59:59Z')))).toEqual(week); // Sunday
		expect(iso(periodOf('weekly', new Date('2026-03-04T12:00:00Z')))).toEqual(week); // Wednesday
		expect(iso(periodOf('weekly', new Date('2026-03-09T00:00:00Z')))[0]).toBe('2026-03-02T00:00:00.000Z');
	});
});
