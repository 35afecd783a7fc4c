import { describe, expect, it } from 'vitest';
import { createSecretBox } from './secret-box';

describe('createSecretBox', () => {
	const box = createSecretBox(new Uint8Array(32).fill(7));
	const secret = new TextEncoder().encode('totp key bytes');

	it('should open what it sealed, with a fresh nonce each time', () => {
		const sealed = box.seal(secret);
		expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
		expect(box.seal(secret)).not.toBe(sealed);
		expect(new TextDecoder().decode(box.open(sealed))).toBe('totp key bytes');
	});

	it('should refuse a tampered value or another key', () => {
		const sealed = box.seal(secret);
		const parts = sealed.split('.');
		// Another first character of the ciphertext: 'A' when it is not one already (1 run in 64 was).
		const first = parts[2]?.startsWith('A') ? 'B' : 'A';
		const flipped = [parts[0], parts[1], `${first}${parts[2]?.slice(1)}`, parts[3]].join('.');
		expect(() => box.open(flipped)).toThrow();
		expect(() => createSecretBox(new Uint8Array(32).fill(8)).open(sealed)).toThrow();
		expect(() => box.open('plain text')).toThrow();
	});
});
