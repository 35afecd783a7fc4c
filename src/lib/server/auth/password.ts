/**
 * Passwords: argon2id hashes (OWASP's parameters: 19 MiB, 2 passes, 1 lane) and the policy a new
 * password must meet. Verification of an unknown account hashes against a dummy so that a wrong
 * e-mail and a wrong password take about the same time.
 */
import { hash, verify } from '@node-rs/argon2';
import { isCommonPassword } from './common-passwords';

export const PASSWORD_MIN_LENGTH = 12;
/** Upper bound: hashing cost grows with length, and nobody types more. */
export const PASSWORD_MAX_LENGTH = 256;

// @node-rs/argon2's default algorithm is argon2id (its `Algorithm` is a const enum, which
// isolated modules cannot reference); the test asserts the `$argon2id$` prefix.
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1, outputLen: 32 } as const;

/** Hashes a password with argon2id; the PHC string carries its salt and parameters. */
export function hashPassword(password: string): Promise<string> {
	return hash(password, OPTIONS);
}

/** True when `password` matches `passwordHash`; false for a malformed hash rather than throwing. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
	try {
		return await verify(passwordHash, password);
	} catch {
		return false;
	}
}

let dummyHash: Promise<string> | undefined;

/** Spends the time of one verification without an account, so unknown e-mails answer as slowly. */
export async function verifyAgainstDummy(password: string): Promise<void> {
	dummyHash ??= hashPassword(`dummy-${Math.random()}`);
	await verifyPassword(await dummyHash, password);
}

export interface PasswordContext {
	email?: string;
	name?: string;
}

/** The reason a new password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, context: PasswordContext = {}): string | null {
	if (password.length < PASSWORD_MIN_LENGTH)
		return `Use at least ${PASSWORD_MIN_LENGTH} characters (a few unrelated words work well).`;
	if (password.length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
	if (isCommonPassword(password)) return 'This password is too common; choose another.';
	const lowered = password.toLowerCase();
	const local = context.email?.split('@')[0]?.toLowerCase();
	if (context.email && lowered.includes(context.email.toLowerCase()))
		return 'Do not use your e-mail address in your password.';
	// Mostly the e-mail's local part ("jsmith2024!!"); a passphrase that merely contains it is fine.
	if (local && local.length >= 4 && lowered.includes(local) && local.length * 2 >= password.length)
		return 'Do not base your password on your e-mail address.';
	if (new Set(password).size < 4) return 'Use more than three different characters.';
	return null;
}

/** A random password for new accounts and resets: 20 characters from a 56-symbol alphabet (~116 bits). */
export function generatePassword(length = 20): string {
	// No 0/O, 1/l/I: it is read off a screen and typed once.
	const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
	const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
	let out = '';
	for (const byte of bytes) {
		// Rejection sampling keeps every symbol equally likely.
		if (byte >= alphabet.length * Math.floor(256 / alphabet.length)) continue;
		out += alphabet[byte % alphabet.length];
		if (out.length === length) break;
	}
	return out.length === length ? out : generatePassword(length);
}
