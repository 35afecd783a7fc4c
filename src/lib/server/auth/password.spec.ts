import { describe, expect, it } from 'vitest';
import { generatePassword, passwordProblem } from './password';

describe('passwordProblem', () => {
	it('should accept a long passphrase', () => {
		expect(passwordProblem('correct horse battery staple')).toBeNull();
	});

	it('should refuse short, common and e-mail-based passwords', () => {
		expect(passwordProblem('short pass')).toMatch(/at least 12/);
		expect(passwordProblem('Password1234')).toMatch(/too common/);
		expect(passwordProblem('x'.repeat(257))).toMatch(/at most/);
		expect(passwordProblem('aaaaaaaaaaaaab')).toMatch(/different characters/);
		expect(passwordProblem('my jsmith@example.com pw', { email: 'jsmith@example.com' })).toMatch(/e-mail/);
		expect(passwordProblem('jsmith2024!!', { email: 'jsmith@example.com' })).toMatch(/e-mail/);
	});

	it('should not refuse a passphrase that merely contains the e-mail name', () => {
		expect(passwordProblem('a long admin passphrase of mine', { email: 'admin@example.com' })).toBeNull();
	});
});

describe('generatePassword', () => {
	it('should make 20 unambiguous characters that pass the policy', () => {
		const passwords = Array.from({ length: 50 }, () => generatePassword());
		for (const password of passwords) {
			expect(password).toMatch(/^[A-HJ-NP-Za-km-z2-9]{20}$/);
			expect(passwordProblem(password)).toBeNull();
		}
		expect(new Set(passwords).size).toBe(50);
	});
});
