import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, loginThrottle, recoveryCodes, sessions, users } from '$lib/server/db/schema';
import { createSecretBox } from '$lib/server/auth/secret-box';
import { stageOf } from '$lib/server/auth/access';
import {
	SIGN_IN_REFUSED,
	beginEnrolment,
	changePassword,
	signIn,
	signOut,
	verifySecondFactor,
	type PeopleAuth
} from '$lib/server/services/auth.service';
import { setRequireTwoFactor } from '$lib/server/services/settings.service';
import { ensureFirstAdmin, setUserDisabled, setUserRole } from '$lib/server/services/users.service';
import { ValidationFailed } from '$lib/server/errors';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';
import { PASSWORD, codeAt, enrol, makeUser, meta, signedIn, testAuth } from '../helpers/people';

const MINUTE = 60_000;
const later = (from: Date, ms: number) => new Date(from.getTime() + ms);
const admin = { actor: { kind: 'user' as const, id: 'admin-under-test', name: 'Admin' } };

describe.each(testDatabaseKinds())('sign-in and sessions on %s', (kind) => {
	let database: TestDatabase;
	let auth: PeopleAuth;

	beforeAll(async () => {
		database = await openTestDatabase(kind);
		auth = testAuth(database.db);
	});
	afterAll(async () => {
		await database.dispose();
	});

	const auditOf = (action: string, targetId: string | null) =>
		database.db
			.select()
			.from(auditLog)
			.where(
				and(eq(auditLog.action, action), targetId === null ? undefined : eq(auditLog.targetId, targetId))
			);

	describe('passwords and refusals', () => {
		it('should store passwords as argon2id hashes', async () => {
			const user = await makeUser(database.db);
			expect(user.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
			expect(user.passwordHash).not.toContain(PASSWORD);
		});

		it('should answer an unknown e-mail and a wrong password with the same refusal', async () => {
			const user = await makeUser(database.db);
			const unknown = await signIn(
				auth,
				{ email: 'nobody@example.com', password: PASSWORD },
				meta('192.0.2.10')
			);
			const wrong = await signIn(
				auth,
				{ email: user.email, password: 'wrong password!!' },
				meta('192.0.2.10')
			);
			expect(unknown).toEqual({ ok: false, reason: 'refused' });
			expect(wrong).toEqual(unknown);
			// The audit log, unlike the caller, knows which it was.
			const [entry] = await auditOf('auth.login_failed', user.id);
			expect(entry).toMatchObject({
				actorId: user.id,
				ip: '192.0.2.10',
				details: { reason: 'wrong_password' }
			});
			const failures = await auditOf('auth.login_failed', null);
			expect(
				failures.some(
					(row) => row.actorName === 'nobody@example.com' && row.details.reason === 'unknown_user'
				)
			).toBe(true);
		});

		it('should refuse a disabled account with the same answer even when the password is right', async () => {
			const user = await makeUser(database.db);
			await setUserDisabled(database.db, admin, user.id, true);
			const result = await signIn(auth, { email: user.email, password: PASSWORD }, meta());
			expect(result).toEqual({ ok: false, reason: 'refused' });
			expect(SIGN_IN_REFUSED).toBe('Incorrect e-mail or password.');
		});

		it('should match e-mail addresses without regard to case or surrounding spaces', async () => {
			const user = await makeUser(database.db);
			const result = await signIn(
				auth,
				{ email: `  ${user.email.toUpperCase()} `, password: PASSWORD },
				meta()
			);
			expect(result.ok).toBe(true);
		});
	});

	describe('lock-out and back-off', () => {
		it('should lock an account after five failures and double the lock with each further failure', async () => {
			const user = await makeUser(database.db);
			const start = new Date('2030-01-01T00:00:00Z');
			const fail = (at: Date) =>
				signIn(auth, { email: user.email, password: 'not the password' }, { ...meta(), ip: null }, at);
			const lockOf = async () =>
				(await database.db.select().from(users).where(eq(users.id, user.id)))[0]?.lockedUntil;

			for (let i = 0; i < 4; i++) expect(await fail(start)).toEqual({ ok: false, reason: 'refused' });
			expect(await lockOf()).toBeNull();
			await fail(start);
			expect(await lockOf()).toEqual(later(start, MINUTE));

			// While locked, even the right password is refused, and the lock does not grow.
			const locked = await signIn(
				auth,
				{ email: user.email, password: PASSWORD },
				{ ...meta(), ip: null },
				later(start, 30_000)
			);
			expect(locked).toEqual({ ok: false, reason: 'locked', retryAfterSeconds: 30 });
			expect(await lockOf()).toEqual(later(start, MINUTE));

			// After it, a sixth failure locks for two minutes, a seventh for four.
			const t6 = later(start, MINUTE + 1000);
			await fail(t6);
			expect(await lockOf()).toEqual(later(t6, 2 * MINUTE));
			const t7 = later(t6, 2 * MINUTE + 1000);
			await fail(t7);
			expect(await lockOf()).toEqual(later(t7, 4 * MINUTE));

			// The right password after the lock: in, and the counter is cleared.
			const ok = await signIn(
				auth,
				{ email: user.email, password: PASSWORD },
				{ ...meta(), ip: null },
				later(t7, 4 * MINUTE + 1000)
			);
			expect(ok.ok).toBe(true);
			const [row] = await database.db.select().from(users).where(eq(users.id, user.id));
			expect(row).toMatchObject({ failedLogins: 0, lockedUntil: null });
		});

		it('should cap the lock at one hour', async () => {
			const user = await makeUser(database.db);
			let at = new Date('2030-02-01T00:00:00Z');
			for (let i = 0; i < 15; i++) {
				at = later(at, 2 * 3_600_000); // each attempt after the previous lock ran out
				await signIn(auth, { email: user.email, password: 'nope nope nope' }, { ...meta(), ip: null }, at);
			}
			const [row] = await database.db.select().from(users).where(eq(users.id, user.id));
			expect(row?.lockedUntil).toEqual(later(at, 3_600_000));
		});

		it('should lock an unknown e-mail exactly like a real account, so lock-outs reveal nothing', async () => {
			const at = new Date('2030-03-01T00:00:00Z');
			const attempt = () =>
				signIn(auth, { email: 'ghost@example.com', password: 'whatever it is' }, { ...meta(), ip: null }, at);
			for (let i = 0; i < 5; i++) expect(await attempt()).toEqual({ ok: false, reason: 'refused' });
			expect(await attempt()).toEqual({ ok: false, reason: 'locked', retryAfterSeconds: 60 });
			const [row] = await database.db
				.select()
				.from(loginThrottle)
				.where(eq(loginThrottle.key, 'email:ghost@example.com'));
			expect(row?.failures).toBe(5);
		});

		it('should lock a client IP after twenty failures across accounts, and only that IP', async () => {
			const at = new Date('2030-04-01T00:00:00Z');
			const ip = '203.0.113.99';
			const victim = await makeUser(database.db);
			for (let i = 0; i < 20; i++)
				await signIn(auth, { email: `spray${i}@example.com`, password: 'Spring2030!!' }, meta(ip), at);
			const fromThatIp = await signIn(
				auth,
				{ email: victim.email, password: PASSWORD },
				meta(ip),
				later(at, 1000)
			);
			expect(fromThatIp).toMatchObject({ ok: false, reason: 'locked' });
			const fromElsewhere = await signIn(
				auth,
				{ email: victim.email, password: PASSWORD },
				meta('203.0.113.100'),
				later(at, 1000)
			);
			expect(fromElsewhere.ok).toBe(true);
		});
	});

	describe('sessions', () => {
		it('should start a new session at each sign-in and end the one the browser had', async () => {
			const user = await makeUser(database.db);
			const first = await signIn(auth, { email: user.email, password: PASSWORD }, meta());
			if (!first.ok) throw new Error('refused');
			const second = await signIn(
				auth,
				{ email: user.email, password: PASSWORD, previousSessionId: first.session.id },
				meta()
			);
			if (!second.ok) throw new Error('refused');
			expect(second.session.id).not.toBe(first.session.id);
			expect(await auth.sessions.validate(first.session.id)).toBeNull();
			expect(await auth.sessions.validate(second.session.id)).not.toBeNull();
			expect((await auditOf('auth.login', user.id)).length).toBe(2);
		});

		it('should end the session at sign-out', async () => {
			const user = await makeUser(database.db);
			const current = await signedIn(auth, user.email);
			await signOut(auth, current, meta());
			expect(await auth.sessions.validate(current.session.id)).toBeNull();
			expect(await auditOf('auth.logout', user.id)).toHaveLength(1);
		});

		it('should end every session on a password change and give this browser a new one', async () => {
			const user = await makeUser(database.db);
			const here = await signedIn(auth, user.email);
			const elsewhere = await signedIn(auth, user.email);
			const fresh = await changePassword(
				auth,
				here,
				{ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
				meta()
			);
			expect(await auth.sessions.validate(here.session.id)).toBeNull();
			expect(await auth.sessions.validate(elsewhere.session.id)).toBeNull();
			expect(await auth.sessions.validate(fresh.id)).not.toBeNull();
			expect((await signIn(auth, { email: user.email, password: PASSWORD }, meta())).ok).toBe(false);
			expect((await signIn(auth, { email: user.email, password: 'a brand new passphrase' }, meta())).ok).toBe(
				true
			);
			expect(await auditOf('user.password_change', user.id)).toHaveLength(1);
		});

		it('should refuse a weak, common or unchanged new password with a message for that field', async () => {
			const user = await makeUser(database.db);
			const here = await signedIn(auth, user.email);
			for (const newPassword of ['short', 'password1234', PASSWORD]) {
				const attempt = changePassword(auth, here, { currentPassword: PASSWORD, newPassword }, meta());
				await expect(attempt).rejects.toBeInstanceOf(ValidationFailed);
				await expect(attempt).rejects.toMatchObject({ fieldErrors: { newPassword: [expect.any(String)] } });
			}
			const wrongCurrent = changePassword(
				auth,
				here,
				{ currentPassword: 'nope', newPassword: 'another fine passphrase' },
				meta()
			);
			await expect(wrongCurrent).rejects.toMatchObject({
				fieldErrors: { currentPassword: [expect.any(String)] }
			});
		});

		it('should end every session of a person whose role changes', async () => {
			const user = await makeUser(database.db, { role: 'viewer' });
			const current = await signedIn(auth, user.email);
			await setUserRole(database.db, { ...admin, ip: '192.0.2.1' }, user.id, 'risk_manager');
			expect(await auth.sessions.validate(current.session.id)).toBeNull();
			const [entry] = await auditOf('user.role_change', user.id);
			expect(entry).toMatchObject({
				actorId: 'admin-under-test',
				ip: '192.0.2.1',
				details: { from: 'viewer', to: 'risk_manager' }
			});
		});

		it('should end every session of a person who is disabled', async () => {
			const user = await makeUser(database.db);
			const current = await signedIn(auth, user.email);
			await setUserDisabled(database.db, admin, user.id, true);
			expect(await auth.sessions.validate(current.session.id)).toBeNull();
			expect(await database.db.select().from(sessions).where(eq(sessions.userId, user.id))).toHaveLength(0);
		});

		it('should not let an administrator demote or disable the last administrator', async () => {
			const only = await makeUser(database.db, { role: 'admin' });
			// Other administrators created by earlier tests would make this pass for the wrong reason.
			const others = await database.db.select().from(users).where(eq(users.role, 'admin'));
			for (const other of others.filter((row) => row.id !== only.id))
				await database.db.update(users).set({ role: 'viewer' }).where(eq(users.id, other.id));
			await expect(setUserRole(database.db, admin, only.id, 'viewer')).rejects.toThrow(/last administrator/);
			await expect(setUserDisabled(database.db, admin, only.id, true)).rejects.toThrow(/last administrator/);
			await expect(
				setUserRole(database.db, { actor: { ...admin.actor, id: only.id } }, only.id, 'viewer')
			).rejects.toThrow(/own role/);
		});
	});

	describe('two-factor authentication', () => {
		it('should keep the TOTP key encrypted at rest', async () => {
			const user = await makeUser(database.db);
			const current = await signedIn(auth, user.email);
			const enrolment = await beginEnrolment(auth, current);
			const [row] = await database.db.select().from(users).where(eq(users.id, user.id));
			expect(row?.totpSecret).toMatch(/^v1\./);
			expect(row?.totpSecret).not.toContain(enrolment.manualKey.replace(/\s/g, ''));
			const opened = createSecretBox(Buffer.from('ab'.repeat(32), 'hex')).open(row?.totpSecret ?? '');
			expect(Buffer.from(opened).length).toBe(20);
			expect(enrolment.qrCode).toMatch(/^data:image\/svg\+xml;base64,/);
			expect(Buffer.from(enrolment.qrCode.split(',')[1] ?? '', 'base64').toString()).toContain('<svg');
		});

		it('should show the same key when enrolment is resumed, until it is confirmed', async () => {
			const user = await makeUser(database.db);
			const current = await signedIn(auth, user.email);
			const first = await beginEnrolment(auth, current);
			const again = await beginEnrolment(auth, current);
			expect(again.manualKey).toBe(first.manualKey);
		});

		it('should ask for the code after the password, and accept each code only once', async () => {
			const user = await makeUser(database.db);
			const at = new Date();
			const { key, session: enrolledSession } = await enrol(auth, await signedIn(auth, user.email), at);
			expect(enrolledSession.twoFactorVerified).toBe(true);

			const pending = await signedIn(auth, user.email);
			expect(pending.user.totpEnabled).toBe(true);
			expect(stageOf({ ...pending, requireTwoFactorForAll: false })).toBe('two_factor');

			// The code used to enrol cannot be replayed.
			expect(await verifySecondFactor(auth, pending, codeAt(key, at), meta(), at)).toEqual({
				ok: false,
				reason: 'refused'
			});
			// The next one works, once, and replaces the half-open session by a verified one.
			const next = later(at, 30_000);
			const verified = await verifySecondFactor(auth, pending, codeAt(key, next), meta(), next);
			if (!verified.ok) throw new Error('refused');
			expect(verified.session.id).not.toBe(pending.session.id);
			expect(verified.session.twoFactorVerified).toBe(true);
			expect(await auth.sessions.validate(pending.session.id)).toBeNull();
			expect(stageOf({ user: pending.user, session: verified.session, requireTwoFactorForAll: false })).toBe(
				'active'
			);

			const again = await signedIn(auth, user.email);
			expect(await verifySecondFactor(auth, again, codeAt(key, next), meta(), next)).toEqual({
				ok: false,
				reason: 'refused'
			});
			expect(await auditOf('auth.2fa_verified', user.id)).toHaveLength(1);
			expect(await auditOf('user.2fa_enrol', user.id)).toHaveLength(1);
		});

		it('should count wrong codes towards the account lock-out', async () => {
			const user = await makeUser(database.db);
			const at = new Date();
			await enrol(auth, await signedIn(auth, user.email), at);
			const pending = await signedIn(auth, user.email);
			for (let i = 0; i < 5; i++) await verifySecondFactor(auth, pending, '000000', meta(), at);
			const [row] = await database.db.select().from(users).where(eq(users.id, user.id));
			expect(row?.lockedUntil).toEqual(later(at, MINUTE));
			expect(await verifySecondFactor(auth, pending, '123456', meta(), at)).toMatchObject({
				ok: false,
				reason: 'locked'
			});
		});

		it('should store recovery codes hashed and accept each one once', async () => {
			const user = await makeUser(database.db);
			const { recoveryCodes: codes } = await enrol(auth, await signedIn(auth, user.email));
			expect(codes).toHaveLength(10);
			expect(new Set(codes).size).toBe(10);
			const stored = await database.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id));
			expect(stored.map((row) => row.codeHash).sort()).toEqual(
				codes.map((code) => createHash('sha256').update(code.replace(/-/g, '')).digest('hex')).sort()
			);
			for (const row of stored)
				for (const code of codes) expect(row.codeHash).not.toContain(code.replace(/-/g, ''));

			const first = await signedIn(auth, user.email);
			const used = await verifySecondFactor(auth, first, (codes[3] ?? '').toUpperCase(), meta());
			expect(used).toMatchObject({ ok: true, usedRecoveryCode: true, recoveryCodesLeft: 9 });

			const second = await signedIn(auth, user.email);
			expect(await verifySecondFactor(auth, second, codes[3] ?? '', meta())).toEqual({
				ok: false,
				reason: 'refused'
			});
			expect(await auditOf('auth.recovery_code_used', user.id)).toHaveLength(1);
		});

		it('should require enrolment of everyone once an administrator turns the setting on', async () => {
			const user = await makeUser(database.db, { role: 'viewer' });
			const current = await signedIn(auth, user.email);
			expect(stageOf({ ...current, requireTwoFactorForAll: false })).toBe('active');
			await setRequireTwoFactor(database.db, admin, true);
			const result = await signIn(auth, { email: user.email, password: PASSWORD }, meta());
			expect(result).toMatchObject({ ok: true, stage: 'enrol_two_factor' });
			await setRequireTwoFactor(database.db, admin, false);
			expect(await auditOf('settings.update', 'require_two_factor')).toHaveLength(2);
		});
	});

	describe('first start', () => {
		it('should create one administrator with a printed random password, to change with 2FA to enrol', async () => {
			const fresh = await openTestDatabase(kind);
			try {
				const freshAuth = testAuth(fresh.db);
				const created = await ensureFirstAdmin(fresh.db, { CREDIBLE_ADMIN_EMAIL: 'Root@Example.com' });
				expect(created?.email).toBe('root@example.com');
				expect(created?.generatedPassword).toHaveLength(20);
				expect(await ensureFirstAdmin(fresh.db, { CREDIBLE_ADMIN_EMAIL: 'root@example.com' })).toBeNull();

				const rows = await fresh.db.select().from(users);
				expect(rows).toHaveLength(1);
				expect(rows[0]).toMatchObject({ role: 'admin', mustChangePassword: true, totpEnabled: false });

				const signedInAdmin = await signIn(
					freshAuth,
					{ email: 'root@example.com', password: created?.generatedPassword ?? '' },
					meta()
				);
				expect(signedInAdmin).toMatchObject({ ok: true, stage: 'change_password' });
				const current = await signedIn(freshAuth, 'root@example.com', created?.generatedPassword ?? '');
				const session = await changePassword(
					freshAuth,
					current,
					{ currentPassword: created?.generatedPassword ?? '', newPassword: 'the admin chose this one' },
					meta()
				);
				// Administrators always need a second factor, whatever the instance-wide setting says.
				const user = { ...current.user, mustChangePassword: false };
				expect(stageOf({ user, session, requireTwoFactorForAll: false })).toBe('enrol_two_factor');

				const [entry] = await fresh.db.select().from(auditLog).where(eq(auditLog.action, 'user.create'));
				expect(entry).toMatchObject({ actorKind: 'system', actorId: 'first-start', targetId: rows[0]?.id });
			} finally {
				await fresh.dispose();
			}
		});

		it('should take the password from CREDIBLE_ADMIN_PASSWORD and print none', async () => {
			const fresh = await openTestDatabase(kind);
			try {
				const created = await ensureFirstAdmin(fresh.db, {
					CREDIBLE_ADMIN_EMAIL: 'admin@example.com',
					CREDIBLE_ADMIN_PASSWORD: 'from the environment'
				});
				expect(created).toEqual({ email: 'admin@example.com', generatedPassword: null });
				const result = await signIn(
					testAuth(fresh.db),
					{ email: 'admin@example.com', password: 'from the environment' },
					meta()
				);
				expect(result).toMatchObject({ ok: true, stage: 'change_password' });
			} finally {
				await fresh.dispose();
			}
		});
	});
});
