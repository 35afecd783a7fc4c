/**
 * Factories for people and sign-in tests: users with a known password (and optionally an
 * authenticator), signed-in sessions, and the codes an authenticator app would show.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import type { Database } from '$lib/server/db';
import { users, type Role } from '$lib/server/db/schema';
import { parseEnv } from '$lib/server/env';
import { hashPassword } from '$lib/server/auth/password';
import { totpStep } from '$lib/server/auth/totp';
import {
	beginEnrolment,
	confirmEnrolment,
	createPeopleAuth,
	signIn,
	type CurrentSession,
	type PeopleAuth,
	type RequestMeta
} from '$lib/server/services/auth.service';

export const PASSWORD = 'correct horse battery staple 7';

export const meta = (ip = '198.51.100.7'): RequestMeta => ({
	ip,
	userAgent: 'vitest',
	requestId: randomUUID()
});

/** A `PeopleAuth` over a test database, with a fixed TOTP key as production would have. */
export function testAuth(db: Database, env: Record<string, string> = {}): PeopleAuth {
	return createPeopleAuth(db, parseEnv({ TOTP_ENCRYPTION_KEY: 'ab'.repeat(32), ...env }));
}

let counter = 0;

/** Inserts a person who has already chosen their password (no forced change). */
export async function makeUser(
	db: Database,
	options: { role?: Role; email?: string; password?: string; mustChangePassword?: boolean } = {}
) {
	counter++;
	const id = randomUUID();
	const email = options.email ?? `person${counter}-${id.slice(0, 6)}@example.com`;
	await db.insert(users).values({
		id,
		email,
		name: `Person ${counter}`,
		role: options.role ?? 'viewer',
		passwordHash: await hashPassword(options.password ?? PASSWORD),
		mustChangePassword: options.mustChangePassword ?? false
	});
	const [user] = await db.select().from(users).where(eq(users.id, id));
	if (!user) throw new Error('user not created');
	return user;
}

/** Signs in with the password and returns the (possibly half-open) session, as the handle would see it. */
export async function signedIn(
	auth: PeopleAuth,
	email: string,
	password = PASSWORD
): Promise<CurrentSession> {
	const result = await signIn(auth, { email, password }, meta());
	if (!result.ok) throw new Error(`sign-in refused: ${result.reason}`);
	const found = await auth.sessions.validate(result.session.id);
	if (!found) throw new Error('new session not valid');
	return found;
}

/** The code an authenticator app shows for `key` at `at`. */
export function codeAt(key: Uint8Array, at: Date, stepOffset = 0): string {
	return generateHOTP(key, BigInt(totpStep(at) + stepOffset), 6);
}

/** Decodes the key shown for manual entry (base32 in groups of four). */
export function keyFromManualEntry(manualKey: string): Uint8Array {
	return decodeBase32IgnorePadding(manualKey.replace(/\s/g, '').toUpperCase());
}

/**
 * Enrols `current` in two-factor authentication as a person would: reads the key off the page,
 * enters the app's code. Returns the key, the recovery codes and the new (verified) session.
 */
export async function enrol(auth: PeopleAuth, current: CurrentSession, at = new Date()) {
	const enrolment = await beginEnrolment(auth, current);
	const key = keyFromManualEntry(enrolment.manualKey);
	const { session, recoveryCodes } = await confirmEnrolment(auth, current, codeAt(key, at), meta(), at);
	return { key, recoveryCodes, session, enrolment };
}
