import { describe, expect, it } from 'vitest';
import { generateHOTP } from '@oslojs/otp';
import {
	formatTotpKey,
	generateRecoveryCodes,
	hashRecoveryCode,
	matchTotp,
	totpKeyUri,
	totpStep
} from './totp';

// RFC 6238 appendix B, SHA-1 key.
const RFC_KEY = new TextEncoder().encode('12345678901234567890');

describe('matchTotp', () => {
	it('should match the RFC 6238 test vectors (last 6 digits) and return their time step', () => {
		expect(matchTotp(RFC_KEY, '287082', new Date(59_000))).toBe(1);
		expect(matchTotp(RFC_KEY, '081804', new Date(1_111_111_109_000))).toBe(37_037_036);
	});

	it('should accept one step of clock drift either way and no more', () => {
		const now = new Date('2030-01-01T00:00:00Z');
		const step = totpStep(now);
		const code = (offset: number) => generateHOTP(RFC_KEY, BigInt(step + offset), 6);
		expect(matchTotp(RFC_KEY, code(-1), now)).toBe(step - 1);
		expect(matchTotp(RFC_KEY, code(1), now)).toBe(step + 1);
		expect(matchTotp(RFC_KEY, code(2), now)).toBeNull();
		expect(matchTotp(RFC_KEY, 'abcdef', now)).toBeNull();
	});
});

describe('keys and recovery codes', () => {
	it('should describe the key for authenticator apps', () => {
		expect(formatTotpKey(RFC_KEY)).toBe('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ');
		expect(totpKeyUri('ana@example.com', RFC_KEY)).toBe(
			'otpauth://totp/Credible:ana%40example.com?issuer=Credible&algorithm=SHA1&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=30&digits=6'
		);
	});

	it('should make ten distinct codes that hash the same however they are typed', () => {
		const codes = generateRecoveryCodes();
		expect(codes).toHaveLength(10);
		expect(new Set(codes).size).toBe(10);
		for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
		const [first = ''] = codes;
		expect(hashRecoveryCode(first.toUpperCase().replace(/-/g, ' '))).toBe(hashRecoveryCode(first));
	});
});
