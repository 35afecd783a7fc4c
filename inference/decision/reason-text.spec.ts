import { describe, expect, it } from 'vitest';
import type { Feature, NumericReference } from '../manifest';
import { reasonWording } from './reason-text';

const reference: NumericReference = {
	kind: 'numeric',
	edges: [0, 35000, 45000, 52000, 60000, 68000, 78000, 90000, 105000, 133000, 800000],
	proportions: Array.from({ length: 10 }, () => 0.1),
	missingRate: 0,
	mean: 80000,
	quantiles: { p05: 30000, p25: 49000, p50: 68000, p75: 96000, p95: 166000 }
};
const income = {
	name: 'annual_inc',
	label: 'Annual income',
	type: 'numeric',
	unit: 'USD',
	integer: false,
	categories: null,
	categoryLabels: null,
	riskDirection: 'decreasing'
} as unknown as Feature;

describe('reasonWording', () => {
	it('should name the value with its unit and the share it is lower than', () => {
		expect(reasonWording(income, reference, 35000)).toEqual({
			// 35,000 is an edge: the 80 % in the bins from 45,000 up are surely higher.
			text: 'Annual income of 35,000 USD is lower than for 80 % of applicants',
			standing: { side: 'lower', percent: 80 }
		});
	});

	it('should name the value only when no comparison is true on the risky side', () => {
		expect(reasonWording(income, reference, 110000).text).toBe(
			'Annual income of 110,000 USD is lower than for 15 % of applicants'
		);
		expect(reasonWording(income, reference, 900000)).toEqual({
			text: 'Annual income: 900,000 USD',
			standing: null
		});
	});

	it('should say a missing value was not provided', () => {
		expect(reasonWording(income, reference, null)).toEqual({
			text: 'Annual income was not provided',
			standing: null
		});
	});

	it('should name a category by its label, and an ordinal that orders risk by how it compares', () => {
		const term = {
			...income,
			label: 'Loan term',
			type: 'categorical',
			unit: null,
			categories: ['term_36', 'term_60'],
			categoryLabels: { term_36: '36 months', term_60: '60 months' },
			riskDirection: null
		} as unknown as Feature;
		const frequencies = {
			kind: 'categorical',
			frequencies: { term_36: 0.7, term_60: 0.3 },
			missingRate: 0
		} as const;
		expect(reasonWording(term, frequencies, 'term_60').text).toBe('Loan term: 60 months');
		const grade = {
			...term,
			label: 'Lending Club sub-grade',
			type: 'ordinal',
			categories: ['A1', 'E3', 'G5'],
			categoryLabels: null,
			riskDirection: 'increasing'
		} as unknown as Feature;
		const grades = {
			kind: 'categorical',
			frequencies: { A1: 0.85, E3: 0.1, G5: 0.05 },
			missingRate: 0
		} as const;
		expect(reasonWording(grade, grades, 'E3').text).toBe(
			'Lending Club sub-grade E3 is worse than for 85 % of applicants'
		);
	});
});
