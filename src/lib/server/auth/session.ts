/**
 * Browser sessions. The only module that knows about `lucia` (v3, no longer maintained upstream —
 * see STACK.md trap 10): everything else speaks `SessionStore`, so replacing lucia means
 * rewriting this file alone.
 *
 * Session ids are 25 random bytes (base32) in an HTTP-only, SameSite=Lax cookie, `Secure` in
 * production. Sessions slide: they expire after `SESSION_TTL_HOURS` without activity, and after
 * `SESSION_MAX_HOURS` whatever happens.
 */
import { DrizzlePostgreSQLAdapter } from '@lucia-auth/adapter-drizzle';
import { eq } from 'drizzle-orm';
import { Lucia, TimeSpan, type Cookie } from 'lucia';
import type { Database } from '../db';
import { sessions, users, type Role } from '../db/schema';

export const SESSION_COOKIE = 'credible_session';

/** What a session carries besides its id, owner and expiry. */
interface SessionAttributes {
	twoFactorVerified: boolean;
	ip: string | null;
	userAgent: string | null;
	createdAt?: Date;
}

/** The user columns lucia reads with a session (the adapter returns the whole row). */
interface UserAttributes {
	email: string;
	name: string;
	role: Role;
	mustChangePassword: boolean;
	totpEnabled: boolean;
	disabledAt: Date | null;
}

type CredibleLucia = Lucia<Required<SessionAttributes>, UserAttributes>;

declare module 'lucia' {
	interface Register {
		Lucia: CredibleLucia;
		DatabaseSessionAttributes: SessionAttributes;
		DatabaseUserAttributes: UserAttributes;
	}
}

export interface SessionRecord {
	id: string;
	userId: string;
	expiresAt: Date;
	createdAt: Date;
	twoFactorVerified: boolean;
	/** True when the expiry was just extended (or the session just created): send the cookie again. */
	fresh: boolean;
}

export interface SessionUser {
	id: string;
	email: string;
	name: string;
	role: Role;
	mustChangePassword: boolean;
	totpEnabled: boolean;
}

export interface CookieSpec {
	name: string;
	value: string;
	attributes: {
		path: string;
		httpOnly: boolean;
		secure: boolean;
		sameSite: 'lax' | 'strict' | 'none';
		expires?: Date;
		maxAge?: number;
	};
}

export interface SessionOptions {
	/** `Secure` cookies; true in production. */
	secure: boolean;
	ttlHours: number;
	maxHours: number;
}

export interface NewSession {
	twoFactorVerified: boolean;
	ip: string | null;
	userAgent: string | null;
}

export interface SessionStore {
	create(userId: string, attributes: NewSession): Promise<SessionRecord>;
	/** The live session and its (enabled) user, or null; expired and over-age sessions are deleted. */
	validate(sessionId: string, now?: Date): Promise<{ session: SessionRecord; user: SessionUser } | null>;
	invalidate(sessionId: string): Promise<void>;
	/** Signs the user out everywhere (password, role or 2FA change, disabling). */
	invalidateUser(userId: string): Promise<void>;
	cookie(session: SessionRecord): CookieSpec;
	blankCookie(): CookieSpec;
}

/** The session store over `db`. Cheap: build one per request or per call. */
export function sessionStore(db: Database, options: SessionOptions): SessionStore {
	const lucia: CredibleLucia = new Lucia(new DrizzlePostgreSQLAdapter(db, sessions, users), {
		sessionExpiresIn: new TimeSpan(Math.round(options.ttlHours * 60), 'm'),
		sessionCookie: { name: SESSION_COOKIE, attributes: { secure: options.secure, sameSite: 'lax' } },
		getSessionAttributes: (attributes) => ({
			twoFactorVerified: attributes.twoFactorVerified,
			ip: attributes.ip,
			userAgent: attributes.userAgent,
			createdAt: attributes.createdAt ?? new Date()
		}),
		getUserAttributes: (attributes) => ({
			email: attributes.email,
			name: attributes.name,
			role: attributes.role,
			mustChangePassword: attributes.mustChangePassword,
			totpEnabled: attributes.totpEnabled,
			disabledAt: attributes.disabledAt
		})
	});
	const maxAgeMs = options.maxHours * 3_600_000;

	const toRecord = (session: {
		id: string;
		userId: string;
		expiresAt: Date;
		createdAt: Date;
		twoFactorVerified: boolean;
		fresh: boolean;
	}): SessionRecord => ({
		id: session.id,
		userId: session.userId,
		expiresAt: session.expiresAt,
		createdAt: session.createdAt,
		twoFactorVerified: session.twoFactorVerified,
		fresh: session.fresh
	});

	return {
		async create(userId, attributes) {
			const session = await lucia.createSession(userId, { ...attributes, createdAt: new Date() });
			return toRecord(session);
		},
		async validate(sessionId, now = new Date()) {
			if (!/^[a-z2-7]{40}$/.test(sessionId)) return null;
			const { session, user } = await lucia.validateSession(sessionId);
			if (!session) return null;
			if (user.disabledAt || now.getTime() - session.createdAt.getTime() > maxAgeMs) {
				await lucia.invalidateSession(session.id);
				return null;
			}
			return {
				session: toRecord(session),
				user: {
					id: user.id,
					email: user.email,
					name: user.name,
					role: user.role,
					mustChangePassword: user.mustChangePassword,
					totpEnabled: user.totpEnabled
				}
			};
		},
		invalidate: (sessionId) => lucia.invalidateSession(sessionId),
		invalidateUser: (userId) => lucia.invalidateUserSessions(userId),
		cookie: (session) => toCookieSpec(lucia.createSessionCookie(session.id)),
		blankCookie: () => toCookieSpec(lucia.createBlankSessionCookie())
	};
}

/**
 * Ends every session of a user without cookie settings (services, the CLI). Accepts a transaction,
 * so a role change and the end of the sessions it invalidates commit together.
 */
export async function invalidateUserSessions(db: Pick<Database, 'delete'>, userId: string): Promise<void> {
	await db.delete(sessions).where(eq(sessions.userId, userId));
}

function toCookieSpec(cookie: Cookie): CookieSpec {
	const { attributes } = cookie;
	return {
		name: cookie.name,
		value: cookie.value,
		attributes: {
			path: attributes.path ?? '/',
			httpOnly: attributes.httpOnly ?? true,
			secure: attributes.secure ?? true,
			sameSite: attributes.sameSite ?? 'lax',
			expires: attributes.expires,
			maxAge: attributes.maxAge
		}
	};
}
