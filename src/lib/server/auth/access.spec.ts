import { describe, expect, it } from 'vitest';
import { safeReturnPath, stageOf } from './access';

describe('stageOf', () => {
	const user = { role: 'viewer' as const, mustChangePassword: false, totpEnabled: false };
	const unverified = { twoFactorVerified: false };

	it('should ask for the second factor first, then a new password, then enrolment', () => {
		const all = { ...user, mustChangePassword: true, totpEnabled: true };
		expect(stageOf({ user: all, session: unverified, requireTwoFactorForAll: true })).toBe('two_factor');
		expect(stageOf({ user: all, session: { twoFactorVerified: true }, requireTwoFactorForAll: true })).toBe(
			'change_password'
		);
		expect(stageOf({ user, session: unverified, requireTwoFactorForAll: true })).toBe('enrol_two_factor');
		expect(stageOf({ user, session: unverified, requireTwoFactorForAll: false })).toBe('active');
	});

	it('should always require a second factor of administrators', () => {
		expect(
			stageOf({ user: { ...user, role: 'admin' }, session: unverified, requireTwoFactorForAll: false })
		).toBe('enrol_two_factor');
	});
});

describe('safeReturnPath', () => {
	it('should keep same-site paths and drop anything that could leave the site', () => {
		expect(safeReturnPath('/admin/users?q=ana')).toBe('/admin/users?q=ana');
		expect(safeReturnPath('/к?q=ü')).toBe('/%D0%BA?q=%C3%BC');
		expect(safeReturnPath('/%D0%BA')).toBe('/%D0%BA');
		for (const bad of [
			'//evil.example',
			'/\\evil.example',
			'https://evil.example',
			'admin',
			'',
			null,
			'/a\nb'
		])
			expect(safeReturnPath(bad)).toBeNull();
	});
});
