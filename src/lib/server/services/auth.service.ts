/**
 * Signing in and out, the second factor, and a person's own credentials. Form actions call these
 * with the browser's session; nothing here knows about cookies or SvelteKit.
 *
 * Every refusal of a sign-in gives the same answer whether the e-mail is unknown, the password
 * wrong or the account disabled, after about the same work (an argon2id verification).
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db';
import { recoveryCodes, totpUsedSteps, users, type User } from '../db/schema';
import type { Env } from '../env';
import { domainErrors, ValidationFailed } from '../errors';
import { stageOf, twoFactorRequired, type AuthStage } from '../auth/access';
import { hashPassword, passwordProblem, verifyAgainstDummy, verifyPassword } from '../auth/password';
import { secretBoxFor, type SecretBox } from '../auth/secret-box';
import {
	invalidateUserSessions,
	sessionStore,
	type SessionRecord,
	type SessionStore,
	type SessionUser
} from '../auth/session';
import {
	ACCOUNT_BACKOFF,
	IP_BACKOFF,
	clearAccountFailures,
	emailKey,
	ipKey,
	recordAccountFailure,
	recordThrottleFailure,
	throttleLockedUntil
} from '../auth/throttle';
import {
	formatTotpKey,
	generateRecoveryCodes,
	generateTotpKey,
	hashRecoveryCode,
	looksLikeTotp,
	matchTotp,
	qrCodeDataUrl,
	totpKeyUri
} from '../auth/totp';
import { recordAudit, type AuditActor } from './audit.service';
import { getSecuritySettings } from './settings.service';

/** What the authentication services need: the database, sessions and the secret box. */
export interface PeopleAuth {
	db: Database;
	sessions: SessionStore;
	box: SecretBox;
	config: Env;
}

const instances = new WeakMap<Database, PeopleAuth>();

/** The process-wide instance for a database (cheap to make, but made once per database). */
export function peopleAuthFor(db: Database, config: Env): PeopleAuth {
	let auth = instances.get(db);
	if (!auth) instances.set(db, (auth = createPeopleAuth(db, config)));
	return auth;
}

export function createPeopleAuth(db: Database, config: Env): PeopleAuth {
	return {
		db,
		config,
		sessions: sessionStore(db, {
			secure: config.NODE_ENV === 'production',
			ttlHours: config.SESSION_TTL_HOURS,
			maxHours: config.SESSION_MAX_HOURS
		}),
		box: secretBoxFor(config)
	};
}

/** Where a request came from, for sessions, throttling and the audit log. */
export interface RequestMeta {
	ip: string | null;
	userAgent: string | null;
	requestId: string | null;
}

/** A signed-in browser: its session and user, as the authenticate handle found them. */
export interface CurrentSession {
	session: SessionRecord;
	user: SessionUser;
}

/** The one message for every refused sign-in. */
export const SIGN_IN_REFUSED = 'Incorrect e-mail or password.';

export type SignInResult =
	| { ok: true; session: SessionRecord; stage: AuthStage }
	| { ok: false; reason: 'refused' }
	| { ok: false; reason: 'locked'; retryAfterSeconds: number };

export function normaliseEmail(email: string): string {
	return email.trim().toLowerCase();
}

export async function findUserByEmail(db: Database, email: string): Promise<User | undefined> {
	const [user] = await db
		.select()
		.from(users)
		.where(eq(sql`lower(${users.email})`, normaliseEmail(email)))
		.limit(1);
	return user;
}

const userActor = (user: Pick<User, 'id' | 'name'>): AuditActor => ({
	kind: 'user',
	id: user.id,
	name: user.name
});

/**
 * Checks e-mail and password, with per-account and per-IP lock-out, and on success opens a new
 * session (rotation: any session the browser had is ended) that still has to pass the second
 * factor when the user has one.
 */
export async function signIn(
	auth: PeopleAuth,
	input: { email: string; password: string; previousSessionId?: string | null },
	meta: RequestMeta,
	now = new Date()
): Promise<SignInResult> {
	const { db } = auth;
	const email = normaliseEmail(input.email).slice(0, 320);
	const user = await findUserByEmail(db, email);
	const audit = (action: string, details: Record<string, unknown>) =>
		recordAudit(db, {
			actor: user ? userActor(user) : { kind: 'user', id: null, name: email },
			action,
			target: { type: 'user', id: user?.id ?? null },
			ip: meta.ip,
			requestId: meta.requestId,
			details
		});

	const accountLock = user
		? user.lockedUntil && user.lockedUntil > now
			? user.lockedUntil
			: null
		: await throttleLockedUntil(db, emailKey(email), now);
	const ipLock = meta.ip ? await throttleLockedUntil(db, ipKey(meta.ip), now) : null;
	const lock = latest(accountLock, ipLock);
	if (lock) {
		await audit('auth.login_failed', { reason: accountLock ? 'account_locked' : 'ip_locked' });
		return { ok: false, reason: 'locked', retryAfterSeconds: secondsUntil(lock, now) };
	}

	let passwordOk = false;
	if (user) passwordOk = await verifyPassword(user.passwordHash, input.password);
	else await verifyAgainstDummy(input.password);

	if (!user || !passwordOk || user.disabledAt) {
		const newAccountLock = user
			? await recordAccountFailure(db, user.id, now)
			: await recordThrottleFailure(db, emailKey(email), ACCOUNT_BACKOFF, now);
		const newIpLock = meta.ip ? await recordThrottleFailure(db, ipKey(meta.ip), IP_BACKOFF, now) : null;
		const reason = !user ? 'unknown_user' : !passwordOk ? 'wrong_password' : 'disabled';
		await audit('auth.login_failed', {
			reason,
			...(newAccountLock ? { accountLockedUntil: newAccountLock.toISOString() } : {}),
			...(newIpLock ? { ipLockedUntil: newIpLock.toISOString() } : {})
		});
		return { ok: false, reason: 'refused' };
	}

	await clearAccountFailures(db, user.id);
	if (input.previousSessionId) await auth.sessions.invalidate(input.previousSessionId);
	const session = await openSession(auth, user.id, meta, false);
	const { requireTwoFactor } = await getSecuritySettings(db, auth.config);
	const stage = stageOf({ user, session, requireTwoFactorForAll: requireTwoFactor });
	await audit('auth.login', { secondFactor: user.totpEnabled ? 'pending' : 'none', stage });
	return { ok: true, session, stage };
}

/** Ends a session (sign-out). */
export async function signOut(auth: PeopleAuth, current: CurrentSession, meta: RequestMeta): Promise<void> {
	await auth.sessions.invalidate(current.session.id);
	await recordAudit(auth.db, {
		actor: userActor(current.user),
		action: 'auth.logout',
		target: { type: 'user', id: current.user.id },
		ip: meta.ip,
		requestId: meta.requestId
	});
}

export type SecondFactorResult =
	| { ok: true; session: SessionRecord; usedRecoveryCode: boolean; recoveryCodesLeft: number }
	| { ok: false; reason: 'refused' }
	| { ok: false; reason: 'locked'; retryAfterSeconds: number };

/**
 * Checks a TOTP code (or a recovery code) for a session that passed the password. Wrong codes
 * count towards the account's lock-out. On success the session is replaced by a verified one.
 */
export async function verifySecondFactor(
	auth: PeopleAuth,
	current: CurrentSession,
	code: string,
	meta: RequestMeta,
	now = new Date()
): Promise<SecondFactorResult> {
	const { db } = auth;
	const user = await loadUser(db, current.user.id);
	const audit = (action: string, details: Record<string, unknown> = {}) =>
		recordAudit(db, {
			actor: userActor(user),
			action,
			target: { type: 'user', id: user.id },
			ip: meta.ip,
			requestId: meta.requestId,
			details
		});
	if (user.lockedUntil && user.lockedUntil > now) {
		await audit('auth.2fa_failed', { reason: 'account_locked' });
		return { ok: false, reason: 'locked', retryAfterSeconds: secondsUntil(user.lockedUntil, now) };
	}

	let usedRecoveryCode = false;
	let accepted = false;
	if (user.totpEnabled && user.totpSecret) {
		if (looksLikeTotp(code)) {
			accepted = await redeemTotp(auth, user, code, now);
		} else {
			accepted = await redeemRecoveryCode(db, user.id, code, now);
			usedRecoveryCode = accepted;
		}
	}
	if (!accepted) {
		const lockedUntil = await recordAccountFailure(db, user.id, now);
		await audit('auth.2fa_failed', {
			method: looksLikeTotp(code) ? 'app' : 'recovery_code',
			...(lockedUntil ? { accountLockedUntil: lockedUntil.toISOString() } : {})
		});
		return { ok: false, reason: 'refused' };
	}

	await clearAccountFailures(db, user.id);
	const session = await rotate(auth, current, meta, true);
	await audit(usedRecoveryCode ? 'auth.recovery_code_used' : 'auth.2fa_verified');
	return { ok: true, session, usedRecoveryCode, recoveryCodesLeft: await countRecoveryCodes(db, user.id) };
}

/** Replaces the user's password; every session ends and this browser gets a fresh one. */
export async function changePassword(
	auth: PeopleAuth,
	current: CurrentSession,
	input: { currentPassword: string; newPassword: string },
	meta: RequestMeta,
	now = new Date()
): Promise<SessionRecord> {
	const { db } = auth;
	const user = await loadUser(db, current.user.id);
	if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
		await recordAccountFailure(db, user.id, now);
		throw new ValidationFailed({ currentPassword: ['This is not your current password.'] });
	}
	const problem = passwordProblem(input.newPassword, { email: user.email, name: user.name });
	if (problem) throw new ValidationFailed({ newPassword: [problem] });
	if (await verifyPassword(user.passwordHash, input.newPassword))
		throw new ValidationFailed({ newPassword: ['Choose a password different from the current one.'] });

	const passwordHash = await hashPassword(input.newPassword);
	await db.transaction(async (tx) => {
		await tx
			.update(users)
			.set({ passwordHash, mustChangePassword: false, failedLogins: 0, lockedUntil: null, updatedAt: now })
			.where(eq(users.id, user.id));
		await recordAudit(tx, {
			actor: userActor(user),
			action: 'user.password_change',
			target: { type: 'user', id: user.id },
			ip: meta.ip,
			requestId: meta.requestId
		});
		await invalidateUserSessions(tx, user.id);
	});
	return openSession(auth, user.id, meta, current.session.twoFactorVerified);
}

export interface Enrolment {
	/** The `otpauth://` URI inside the QR code. */
	uri: string;
	/** The QR code as an SVG data URL. */
	qrCode: string;
	/** The key in base32 for manual entry, grouped by four. */
	manualKey: string;
}

/**
 * Starts (or resumes) two-factor enrolment: a new key is kept, encrypted, until confirmed with a
 * code; reloading the page shows the same key so an already scanned QR code stays valid.
 */
export async function beginEnrolment(auth: PeopleAuth, current: CurrentSession): Promise<Enrolment> {
	const { db, box } = auth;
	const user = await loadUser(db, current.user.id);
	if (user.totpEnabled) throw domainErrors.conflict('Two-factor authentication is already on.');
	let key: Uint8Array | null = null;
	if (user.totpSecret) {
		try {
			key = box.open(user.totpSecret);
		} catch {
			key = null; // sealed under another key: start again
		}
	}
	if (!key) {
		key = generateTotpKey();
		await db
			.update(users)
			.set({ totpSecret: box.seal(key), updatedAt: new Date() })
			.where(and(eq(users.id, user.id), eq(users.totpEnabled, false)));
	}
	const uri = totpKeyUri(user.email, key);
	return { uri, qrCode: await qrCodeDataUrl(uri), manualKey: formatTotpKey(key) };
}

/**
 * Confirms enrolment with a code from the app: two-factor turns on, a new set of recovery codes
 * is made (returned here, shown once, stored hashed), other sessions end and this one is renewed
 * as verified.
 */
export async function confirmEnrolment(
	auth: PeopleAuth,
	current: CurrentSession,
	code: string,
	meta: RequestMeta,
	now = new Date()
): Promise<{ session: SessionRecord; recoveryCodes: string[] }> {
	const { db } = auth;
	const user = await loadUser(db, current.user.id);
	if (user.totpEnabled) throw domainErrors.conflict('Two-factor authentication is already on.');
	if (!user.totpSecret || !(await redeemTotp(auth, user, code, now)))
		throw new ValidationFailed({
			code: [
				'That code is not right. Check that your phone’s clock is set automatically and try the next code.'
			]
		});
	const codes = generateRecoveryCodes();
	await db.transaction(async (tx) => {
		await tx.update(users).set({ totpEnabled: true, updatedAt: now }).where(eq(users.id, user.id));
		await replaceRecoveryCodes(tx, user.id, codes);
		await recordAudit(tx, {
			actor: userActor(user),
			action: 'user.2fa_enrol',
			target: { type: 'user', id: user.id },
			ip: meta.ip,
			requestId: meta.requestId
		});
		await invalidateUserSessions(tx, user.id);
	});
	const session = await openSession(auth, user.id, meta, true);
	return { session, recoveryCodes: codes };
}

/** A new set of recovery codes (the old ones stop working), after proving the second factor. */
export async function regenerateRecoveryCodes(
	auth: PeopleAuth,
	current: CurrentSession,
	code: string,
	meta: RequestMeta,
	now = new Date()
): Promise<string[]> {
	const { db } = auth;
	const user = await loadUser(db, current.user.id);
	if (!user.totpEnabled || !(await redeemTotp(auth, user, code, now)))
		throw new ValidationFailed({ code: ['That code is not right.'] });
	const codes = generateRecoveryCodes();
	await db.transaction(async (tx) => {
		await replaceRecoveryCodes(tx, user.id, codes);
		await recordAudit(tx, {
			actor: userActor(user),
			action: 'user.recovery_codes_regenerate',
			target: { type: 'user', id: user.id },
			ip: meta.ip,
			requestId: meta.requestId
		});
	});
	return codes;
}

/** Turns one's own two-factor authentication off, when policy does not require it. */
export async function disableOwnTwoFactor(
	auth: PeopleAuth,
	current: CurrentSession,
	code: string,
	meta: RequestMeta,
	now = new Date()
): Promise<void> {
	const { db } = auth;
	const user = await loadUser(db, current.user.id);
	const { requireTwoFactor } = await getSecuritySettings(db, auth.config);
	if (twoFactorRequired(user.role, requireTwoFactor))
		throw domainErrors.forbidden('Two-factor authentication is required for your account.');
	if (!user.totpEnabled || !(await redeemTotp(auth, user, code, now)))
		throw new ValidationFailed({ code: ['That code is not right.'] });
	await db.transaction(async (tx) => {
		await clearTwoFactor(tx, user.id, now);
		await recordAudit(tx, {
			actor: userActor(user),
			action: 'user.2fa_disable',
			target: { type: 'user', id: user.id },
			ip: meta.ip,
			requestId: meta.requestId
		});
	});
}

/** What the account page shows about one's second factor. */
export async function twoFactorStatus(
	auth: PeopleAuth,
	userId: string
): Promise<{ enabled: boolean; required: boolean; recoveryCodesLeft: number }> {
	const user = await loadUser(auth.db, userId);
	const { requireTwoFactor } = await getSecuritySettings(auth.db, auth.config);
	return {
		enabled: user.totpEnabled,
		required: twoFactorRequired(user.role, requireTwoFactor),
		recoveryCodesLeft: user.totpEnabled ? await countRecoveryCodes(auth.db, user.id) : 0
	};
}

// Helpers shared with users.service.ts

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
type Writer = Database | Tx;

/** Removes a user's second factor entirely (key, recovery codes, replay marker). */
export async function clearTwoFactor(db: Writer, userId: string, now: Date): Promise<void> {
	await db
		.update(users)
		.set({ totpEnabled: false, totpSecret: null, updatedAt: now })
		.where(eq(users.id, userId));
	await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
	await db.delete(totpUsedSteps).where(eq(totpUsedSteps.userId, userId));
}

export async function countRecoveryCodes(db: Database, userId: string): Promise<number> {
	const [row] = await db
		.select({ count: sql<number>`count(*)::int` })
		.from(recoveryCodes)
		.where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
	return row?.count ?? 0;
}

async function loadUser(db: Database, id: string): Promise<User> {
	const [user] = await db.select().from(users).where(eq(users.id, id));
	if (!user) throw domainErrors.notFound('No such user.');
	return user;
}

/** Checks a TOTP code and claims its time step, so each code works once. */
async function redeemTotp(auth: PeopleAuth, user: User, code: string, now: Date): Promise<boolean> {
	if (!user.totpSecret) return false;
	let key: Uint8Array;
	try {
		key = auth.box.open(user.totpSecret);
	} catch {
		return false;
	}
	const step = matchTotp(key, code, now);
	if (step === null) return false;
	// Atomic: the row moves forward only to a later step, so a replay (or a race) claims nothing.
	const claimed = await auth.db
		.insert(totpUsedSteps)
		.values({ userId: user.id, lastStep: step, usedAt: now })
		.onConflictDoUpdate({
			target: totpUsedSteps.userId,
			set: { lastStep: step, usedAt: now },
			setWhere: sql`${totpUsedSteps.lastStep} < ${step}`
		})
		.returning({ step: totpUsedSteps.lastStep });
	return claimed.length === 1;
}

async function redeemRecoveryCode(db: Database, userId: string, code: string, now: Date): Promise<boolean> {
	const spent = await db
		.update(recoveryCodes)
		.set({ usedAt: now })
		.where(
			and(
				eq(recoveryCodes.userId, userId),
				eq(recoveryCodes.codeHash, hashRecoveryCode(code)),
				isNull(recoveryCodes.usedAt)
			)
		)
		.returning({ id: recoveryCodes.id });
	return spent.length === 1;
}

async function replaceRecoveryCodes(tx: Writer, userId: string, codes: string[]): Promise<void> {
	await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
	await tx.insert(recoveryCodes).values(codes.map((code) => ({ userId, codeHash: hashRecoveryCode(code) })));
}

function openSession(auth: PeopleAuth, userId: string, meta: RequestMeta, twoFactorVerified: boolean) {
	return auth.sessions.create(userId, {
		twoFactorVerified,
		ip: meta.ip,
		userAgent: meta.userAgent?.slice(0, 500) ?? null
	});
}

/** Ends the current session and opens a new one for this browser (a new id at each privilege step). */
async function rotate(
	auth: PeopleAuth,
	current: CurrentSession,
	meta: RequestMeta,
	twoFactorVerified: boolean
): Promise<SessionRecord> {
	await auth.sessions.invalidate(current.session.id);
	return openSession(auth, current.user.id, meta, twoFactorVerified);
}

function latest(a: Date | null, b: Date | null): Date | null {
	if (!a) return b;
	if (!b) return a;
	return a > b ? a : b;
}

function secondsUntil(until: Date, now: Date): number {
	return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}
