import { describe, expect, it } from 'vitest';
import { formatNumber, formatQuantity, formatValue } from './format-value';

describe('formatValue', () => {
	it('should print numbers with thousands separators, at most two decimals, and the unit after', () => {
		expect(formatQuantity(35000, 'USD')).toBe('35,000 USD');
		expect(formatQuantity(1234567.891, 'USD')).toBe('1,234,567.89 USD');
		expect(formatQuantity(13.49, '%')).toBe('13.49 %');
		expect(formatQuantity(3, null)).toBe('3');
	});

	it('should print zero and negative zero as 0', () => {
		expect(formatNumber(0)).toBe('0');
		expect(formatNumber(-0)).toBe('0');
		expect(formatQuantity(0, 'USD')).toBe('0 USD');
	});

	it('should make a plural unit singular for exactly one, and only then', () => {
		expect(formatQuantity(1, 'months')).toBe('1 month');
		expect(formatQuantity(1, 'currency units')).toBe('1 currency unit');
		expect(formatQuantity(1.5, 'years')).toBe('1.5 years');
		expect(formatQuantity(1, 'USD')).toBe('1 USD');
		expect(formatQuantity(1, '%')).toBe('1 %');
	});

	it('should name a category by its label, or by its code when it has none', () => {
		const term = { type: 'categorical', unit: null, categoryLabels: { term_60: '60 months' } } as const;
		expect(formatValue(term, 'term_60')).toBe('60 months');
		expect(formatValue(term, 'term_36')).toBe('term_36');
		expect(formatValue({ type: 'numeric', unit: '%' }, 7)).toBe('7 %');
	});
});
