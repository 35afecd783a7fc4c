/**
 * Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits — what every
 * authenticator app supports) and recovery codes. Codes one step either side of now are accepted
 * for clock drift; the caller records the matched step so a code cannot be used twice.
 */
import { createHash, randomBytes } from 'node:crypto';
import { encodeBase32LowerCaseNoPadding, encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { createTOTPKeyURI, verifyHOTP } from '@oslojs/otp';
import QRCode from 'qrcode';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const DRIFT_STEPS = 1;
export const TOTP_ISSUER = 'Credible';
export const RECOVERY_CODE_COUNT = 10;

/** A new 160-bit TOTP key (RFC 4226 recommends 160 bits). */
export function generateTotpKey(): Uint8Array {
	return new Uint8Array(randomBytes(20));
}

/** The key as authenticator apps expect it for manual entry: base32, upper case, in groups of 4. */
export function formatTotpKey(key: Uint8Array): string {
	return encodeBase32UpperCaseNoPadding(key).replace(/(.{4})(?=.)/g, '$1 ');
}

/** The `otpauth://` URI that the QR code carries. */
export function totpKeyUri(accountName: string, key: Uint8Array): string {
	return createTOTPKeyURI(TOTP_ISSUER, accountName, key, TOTP_PERIOD_SECONDS, TOTP_DIGITS);
}

/** The QR code of `uri` as an SVG data URL, rendered here (no external service sees the key). */
export async function qrCodeDataUrl(uri: string): Promise<string> {
	const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
	return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** The time step a moment falls in. */
export function totpStep(now: Date): number {
	return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * The time step whose code equals `code` (within one step of `now`), or null. Returns the step so
 * the caller can refuse a step already used.
 */
export function matchTotp(key: Uint8Array, code: string, now: Date): number | null {
	const digits = code.replace(/\s/g, '');
	if (!new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(digits)) return null;
	const current = totpStep(now);
	for (let step = current - DRIFT_STEPS; step <= current + DRIFT_STEPS; step++) {
		if (verifyHOTP(key, BigInt(step), TOTP_DIGITS, digits)) return step;
	}
	return null;
}

/** True when the input looks like a TOTP code rather than a recovery code. */
export function looksLikeTotp(input: string): boolean {
	return /^\d{6}$/.test(input.replace(/\s/g, ''));
}

/** A new set of recovery codes: 80 random bits each, shown as `xxxx-xxxx-xxxx-xxxx`. */
export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
	return Array.from({ length: count }, () =>
		encodeBase32LowerCaseNoPadding(randomBytes(10)).replace(/(.{4})(?=.)/g, '$1-')
	);
}

/** What is hashed and compared: lower case, without dashes or spaces. */
export function normaliseRecoveryCode(input: string): string {
	return input.toLowerCase().replace(/[\s-]/g, '');
}

/** The stored form of a recovery code. */
export function hashRecoveryCode(code: string): string {
	return createHash('sha256').update(normaliseRecoveryCode(code)).digest('hex');
}
