/**
 * Encryption of small secrets at rest (TOTP keys) with AES-256-GCM under `TOTP_ENCRYPTION_KEY`.
 * A stolen database dump alone then does not let anyone mint second-factor codes. The stored form
 * is `v1.<iv>.<ciphertext>.<tag>` (base64url); the version leaves room for key rotation.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { decodeKey, type Env } from '../env';
import { logger } from '../logger';

const VERSION = 'v1';

export interface SecretBox {
	seal(plaintext: Uint8Array): string;
	/** Throws when the value was not sealed under this key or was tampered with. */
	open(sealed: string): Uint8Array;
}

let warned = false;

/** The box for this environment; outside production an unset key falls back to a fixed dev key. */
export function secretBoxFor(config: Pick<Env, 'TOTP_ENCRYPTION_KEY' | 'NODE_ENV'>): SecretBox {
	const key = config.TOTP_ENCRYPTION_KEY ? decodeKey(config.TOTP_ENCRYPTION_KEY) : null;
	if (key) return createSecretBox(key);
	// env.ts refuses production without a key; this branch is development and tests only.
	if (config.NODE_ENV === 'production') throw new Error('TOTP_ENCRYPTION_KEY is required in production');
	if (!warned && config.NODE_ENV === 'development') {
		warned = true;
		logger.warn('TOTP_ENCRYPTION_KEY is unset: TOTP secrets are encrypted with a fixed development key');
	}
	return createSecretBox(createHash('sha256').update('credible development key, not secret').digest());
}

export function createSecretBox(key: Uint8Array): SecretBox {
	if (key.length !== 32) throw new Error('the key must be 32 bytes');
	return {
		seal(plaintext) {
			const iv = randomBytes(12);
			const cipher = createCipheriv('aes-256-gcm', key, iv);
			const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
			const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url'));
			return [VERSION, ...parts].join('.');
		},
		open(sealed) {
			const [version, iv, ciphertext, tag] = sealed.split('.');
			if (version !== VERSION || !iv || !ciphertext || !tag) throw new Error('not a sealed secret');
			const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
			decipher.setAuthTag(Buffer.from(tag, 'base64url'));
			const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
			return new Uint8Array(plain);
		}
	};
}
