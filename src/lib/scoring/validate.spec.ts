import { describe, expect, it } from 'vitest';
import type { FormFieldSpec } from './types';
import { validateApplicant } from './validate';

const amount: FormFieldSpec = {
	name: 'amount',
	label: 'Loan amount',
	description: 'How much',
	type: 'numeric',
	unit: 'USD',
	range: { min: 1000, max: 40000 },
	integer: true,
	options: null,
	missingAllowed: false,
	actionable: true
};
const home: FormFieldSpec = {
	...amount,
	name: 'home',
	label: 'Housing',
	type: 'categorical',
	unit: null,
	range: null,
	integer: false,
	options: [
		{ value: 'rent', label: 'Rents' },
		{ value: 'owner', label: 'Owns home' }
	],
	missingAllowed: true
};

describe('validateApplicant', () => {
	it('should accept values inside the range and a blank field where unknown is allowed', () => {
		expect(validateApplicant([amount, home], { amount: ' 12000 ', home: '' })).toEqual({});
	});

	it('should name each bad field with the same words as the server', () => {
		expect(validateApplicant([amount, home], { amount: '12.5', home: 'castle' })).toEqual({
			amount: ['Loan amount must be a whole number'],
			home: ['Housing must be one of: rent, owner']
		});
		expect(validateApplicant([amount], { amount: '' })).toEqual({ amount: ['Loan amount is required'] });
		expect(validateApplicant([amount], { amount: 'lots' })).toEqual({
			amount: ['Loan amount must be a number']
		});
		expect(validateApplicant([amount], { amount: '999' })).toEqual({
			amount: ['Loan amount must be at least 1000 USD']
		});
		expect(validateApplicant([amount], { amount: '40001' })).toEqual({
			amount: ['Loan amount must be at most 40000 USD']
		});
	});
});
