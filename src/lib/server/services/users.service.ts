/**
 * People: created, given a role, disabled, reset — by administrators (portal, API) or the command
 * line. Every change is audited in the transaction that makes it, and every change that affects
 * what someone may do (role, disabling, password, second factor) ends their sessions.
 */
import { randomUUID } from 'node:crypto';
import { and, asc, count, eq, gt, ilike, isNull, ne, or, sql } from 'drizzle-orm';
import type { Database } from '../db';
import { sessions, users, type User } from '../db/schema';
import type { Env } from '../env';
import { domainErrors, isUniqueViolation, ValidationFailed } from '../errors';
import type { UserRole } from '../auth/access';
import { generatePassword, hashPassword, passwordProblem } from '../auth/password';
import { invalidateUserSessions } from '../auth/session';
import { recordAudit, type AuditActor } from './audit.service';
import { clearTwoFactor, countRecoveryCodes, findUserByEmail, normaliseEmail } from './auth.service';

/** Who asks: an administrator (a principal) or the command line (`kind: 'system'`). */
export interface UsersCaller {
	actor: AuditActor;
	ip?: string | null;
	requestId?: string | null;
}

/** A user as administrators see it: never the password hash or the TOTP key. */
export interface UserSummary {
	id: string;
	email: string;
	name: string;
	role: User['role'];
	totpEnabled: boolean;
	mustChangePassword: boolean;
	disabled: boolean;
	/** Locked out after failed sign-ins, right now. */
	locked: boolean;
	lockedUntil: Date | null;
	failedLogins: number;
	createdAt: Date;
	updatedAt: Date;
}

export interface UserDetail extends UserSummary {
	activeSessions: number;
	recoveryCodesLeft: number;
}

function summarise(user: User): UserSummary {
	return {
		id: user.id,
		email: user.email,
		name: user.name,
		role: user.role,
		totpEnabled: user.totpEnabled,
		mustChangePassword: user.mustChangePassword,
		disabled: user.disabledAt !== null,
		locked: user.lockedUntil !== null && user.lockedUntil > new Date(),
		lockedUntil: user.lockedUntil,
		failedLogins: user.failedLogins,
		createdAt: user.createdAt,
		updatedAt: user.updatedAt
	};
}

export async function listUsers(db: Database, query: { search?: string } = {}): Promise<UserSummary[]> {
	const search = query.search?.trim();
	const pattern = search ? `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
	const rows = await db
		.select()
		.from(users)
		.where(pattern ? or(ilike(users.email, pattern), ilike(users.name, pattern)) : undefined)
		.orderBy(asc(sql`lower(${users.email})`))
		.limit(500);
	return rows.map(summarise);
}

export async function getUser(db: Database, id: string, now = new Date()): Promise<UserDetail> {
	const user = await loadUser(db, id);
	const [active] = await db
		.select({ n: count() })
		.from(sessions)
		.where(and(eq(sessions.userId, id), gt(sessions.expiresAt, now)));
	return {
		...summarise(user),
		activeSessions: active?.n ?? 0,
		recoveryCodesLeft: user.totpEnabled ? await countRecoveryCodes(db, id) : 0
	};
}

export interface CreateUserInput {
	email: string;
	name: string;
	role: UserRole;
	/** When absent a random password is generated and returned, to hand over once. */
	password?: string;
}

/** Creates a person who must choose a new password at first sign-in. */
export async function createUser(
	db: Database,
	caller: UsersCaller,
	input: CreateUserInput
): Promise<{ user: UserSummary; temporaryPassword: string | null }> {
	const email = normaliseEmail(input.email);
	if (input.password !== undefined) {
		const problem = passwordProblem(input.password, { email, name: input.name });
		if (problem) throw new ValidationFailed({ password: [problem] });
	}
	const password = input.password ?? generatePassword();
	const passwordHash = await hashPassword(password);
	try {
		const user = await db.transaction(async (tx) => {
			const [created] = await tx
				.insert(users)
				.values({
					id: randomUUID(),
					email,
					name: input.name.trim(),
					role: input.role,
					passwordHash,
					mustChangePassword: true
				})
				.returning();
			if (!created) throw new Error('insert returned no row');
			await recordAudit(tx, {
				actor: caller.actor,
				action: 'user.create',
				target: { type: 'user', id: created.id },
				ip: caller.ip,
				requestId: caller.requestId,
				details: { email, role: input.role }
			});
			return created;
		});
		return { user: summarise(user), temporaryPassword: input.password === undefined ? password : null };
	} catch (error) {
		if (isUniqueViolation(error)) {
			const message = 'A user with this e-mail already exists.';
			throw new ValidationFailed({ email: [message] }, message);
		}
		throw error;
	}
}

/** Changes a person's role; they are signed out everywhere. */
export async function setUserRole(
	db: Database,
	caller: UsersCaller,
	id: string,
	role: UserRole
): Promise<UserSummary> {
	const user = await loadUser(db, id);
	if (user.role === role) return summarise(user);
	if (caller.actor.id === id) throw domainErrors.forbidden('You cannot change your own role.');
	if (user.role === 'admin') await ensureAnotherAdmin(db, id);
	const updated = await db.transaction(async (tx) => {
		const [row] = await tx
			.update(users)
			.set({ role, updatedAt: new Date() })
			.where(eq(users.id, id))
			.returning();
		await recordAudit(tx, {
			actor: caller.actor,
			action: 'user.role_change',
			target: { type: 'user', id },
			ip: caller.ip,
			requestId: caller.requestId,
			details: { from: user.role, to: role }
		});
		await invalidateUserSessions(tx, id);
		return row ?? user;
	});
	return summarise(updated);
}

/** Disables (or re-enables) a person; a disabled person cannot sign in and is signed out. */
export async function setUserDisabled(
	db: Database,
	caller: UsersCaller,
	id: string,
	disabled: boolean
): Promise<UserSummary> {
	const user = await loadUser(db, id);
	if ((user.disabledAt !== null) === disabled) return summarise(user);
	if (disabled && caller.actor.id === id)
		throw domainErrors.forbidden('You cannot disable your own account.');
	if (disabled && user.role === 'admin') await ensureAnotherAdmin(db, id);
	const now = new Date();
	const updated = await db.transaction(async (tx) => {
		const [row] = await tx
			.update(users)
			.set({ disabledAt: disabled ? now : null, updatedAt: now })
			.where(eq(users.id, id))
			.returning();
		await recordAudit(tx, {
			actor: caller.actor,
			action: disabled ? 'user.disable' : 'user.enable',
			target: { type: 'user', id },
			ip: caller.ip,
			requestId: caller.requestId
		});
		if (disabled) await invalidateUserSessions(tx, id);
		return row ?? user;
	});
	return summarise(updated);
}

/** Removes a person's second factor (lost phone); they enrol again at next sign-in if required. */
export async function resetUserTwoFactor(
	db: Database,
	caller: UsersCaller,
	id: string
): Promise<UserSummary> {
	const user = await loadUser(db, id);
	const now = new Date();
	await db.transaction(async (tx) => {
		await clearTwoFactor(tx, id, now);
		await recordAudit(tx, {
			actor: caller.actor,
			action: 'user.2fa_reset',
			target: { type: 'user', id },
			ip: caller.ip,
			requestId: caller.requestId
		});
		await invalidateUserSessions(tx, id);
	});
	return summarise({ ...user, totpEnabled: false, totpSecret: null, updatedAt: now });
}

/**
 * Gives a person a new random password to be changed at next sign-in, and clears any lock-out.
 * Returns the password, to be handed over once.
 */
export async function resetUserPassword(
	db: Database,
	caller: UsersCaller,
	id: string
): Promise<{ user: UserSummary; temporaryPassword: string }> {
	await loadUser(db, id);
	const temporaryPassword = generatePassword();
	const passwordHash = await hashPassword(temporaryPassword);
	const updated = await db.transaction(async (tx) => {
		const [row] = await tx
			.update(users)
			.set({
				passwordHash,
				mustChangePassword: true,
				failedLogins: 0,
				lockedUntil: null,
				updatedAt: new Date()
			})
			.where(eq(users.id, id))
			.returning();
		await recordAudit(tx, {
			actor: caller.actor,
			action: 'user.password_reset',
			target: { type: 'user', id },
			ip: caller.ip,
			requestId: caller.requestId
		});
		await invalidateUserSessions(tx, id);
		return row;
	});
	if (!updated) throw domainErrors.notFound('No such user.');
	return { user: summarise(updated), temporaryPassword };
}

/** Clears a lock-out before it expires. */
export async function unlockUser(db: Database, caller: UsersCaller, id: string): Promise<UserSummary> {
	await loadUser(db, id);
	const updated = await db.transaction(async (tx) => {
		const [row] = await tx
			.update(users)
			.set({ failedLogins: 0, lockedUntil: null, updatedAt: new Date() })
			.where(eq(users.id, id))
			.returning();
		await recordAudit(tx, {
			actor: caller.actor,
			action: 'user.unlock',
			target: { type: 'user', id },
			ip: caller.ip,
			requestId: caller.requestId
		});
		return row;
	});
	if (!updated) throw domainErrors.notFound('No such user.');
	return summarise(updated);
}

/** Looks a person up by e-mail for the command line; NOT_FOUND when there is none. */
export async function requireUserByEmail(db: Database, email: string): Promise<UserSummary> {
	const user = await findUserByEmail(db, email);
	if (!user) throw domainErrors.notFound(`No user with the e-mail ${normaliseEmail(email)}.`);
	return summarise(user);
}

export interface FirstAdmin {
	email: string;
	/** The generated password, to print once; null when it came from `CREDIBLE_ADMIN_PASSWORD`. */
	generatedPassword: string | null;
}

/**
 * On first start (no user at all), creates an administrator who must change the password and
 * enrol two-factor authentication at first sign-in. Safe when replicas start together: the
 * advisory lock lets one of them create it and the others see it.
 */
export async function ensureFirstAdmin(
	db: Database,
	config: Pick<Env, 'CREDIBLE_ADMIN_EMAIL' | 'CREDIBLE_ADMIN_PASSWORD'>
): Promise<FirstAdmin | null> {
	const [existing] = await db.select({ id: users.id }).from(users).limit(1);
	if (existing) return null;
	const generated = config.CREDIBLE_ADMIN_PASSWORD ? null : generatePassword();
	const password = config.CREDIBLE_ADMIN_PASSWORD ?? generated ?? '';
	const passwordHash = await hashPassword(password);
	const email = normaliseEmail(config.CREDIBLE_ADMIN_EMAIL);
	return db.transaction(async (tx) => {
		await tx.execute(sql`select pg_advisory_xact_lock(${FIRST_ADMIN_LOCK_ID})`);
		const [again] = await tx.select({ id: users.id }).from(users).limit(1);
		if (again) return null;
		const id = randomUUID();
		await tx.insert(users).values({
			id,
			email,
			name: 'Administrator',
			role: 'admin',
			passwordHash,
			mustChangePassword: true
		});
		await recordAudit(tx, {
			actor: { kind: 'system', id: 'first-start', name: 'first start' },
			action: 'user.create',
			target: { type: 'user', id },
			details: { email, role: 'admin', initial: generated ? 'generated' : 'from CREDIBLE_ADMIN_PASSWORD' }
		});
		return { email, generatedPassword: generated };
	});
}

const FIRST_ADMIN_LOCK_ID = 7_245_302;

/** The box printed once on stdout when the first administrator is created. */
export function firstAdminNotice(admin: FirstAdmin): string {
	const lines = [
		'Credible: first administrator created',
		'',
		`  e-mail:   ${admin.email}`,
		admin.generatedPassword
			? `  password: ${admin.generatedPassword}`
			: '  password: the value of CREDIBLE_ADMIN_PASSWORD',
		'',
		admin.generatedPassword ? 'This password is shown only once. Sign in now:' : 'Sign in now:',
		'you will be asked to choose a new password and to set up',
		'two-factor authentication (an authenticator app).'
	];
	const width = Math.max(...lines.map((line) => line.length)) + 2;
	const bar = '═'.repeat(width);
	return [`╔${bar}╗`, ...lines.map((line) => `║ ${line.padEnd(width - 1)}║`), `╚${bar}╝`].join('\n');
}

async function loadUser(db: Database, id: string): Promise<User> {
	const [user] = await db.select().from(users).where(eq(users.id, id));
	if (!user) throw domainErrors.notFound('No such user.');
	return user;
}

/** Refuses to demote or disable the last enabled administrator. */
async function ensureAnotherAdmin(db: Database, exceptId: string): Promise<void> {
	const [other] = await db
		.select({ id: users.id })
		.from(users)
		.where(and(eq(users.role, 'admin'), isNull(users.disabledAt), ne(users.id, exceptId)))
		.limit(1);
	if (!other) throw domainErrors.forbidden('This is the last administrator: make someone else one first.');
}
