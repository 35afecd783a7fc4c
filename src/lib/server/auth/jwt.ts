/**
 * Access tokens of the API: compact JWTs signed with HS256 under `JWT_SECRET`, the one key every
 * instance shares. A token names its service account (`sub`), the account's role and name, and
 * lives `JWT_TTL_SECONDS`. Signature and claims are checked here; whether the account has been
 * revoked since is checked by `authenticateBearer` through the account-status cache.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Env } from '../env';
import { roles, type Role } from '../db/schema/enums';
import { logger } from '../logger';
import type { Principal } from './principal';

export const JWT_ISSUER = 'credible';
export const JWT_AUDIENCE = 'credible-api';
const ALGORITHM = 'HS256';
/** Tolerated clock skew between the instance that signed a token and the one checking it. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** The account a token is issued to. */
export interface TokenSubject {
	id: string;
	name: string;
	role: Role;
}

export interface IssuedToken {
	accessToken: string;
	/** Seconds until expiry, for the OAuth `expires_in` field. */
	expiresIn: number;
	expiresAt: Date;
	/** The token's unique id (`jti`), recorded in the audit log instead of the token itself. */
	jti: string;
}

/** Outcome of checking a token's signature and claims (not yet its account's status). */
export type TokenCheck =
	{ ok: true; principal: Principal; jti: string } | { ok: false; error: 'expired' | 'invalid' };

export interface AccessTokens {
	/** Signs a token for `subject`, valid for the configured TTL from now. */
	signAccessToken(subject: TokenSubject): Promise<IssuedToken>;
	/**
	 * Checks signature, algorithm, issuer, audience, expiry and claim shapes. Expired tokens that
	 * are otherwise genuine give `expired` (the client should fetch a new one); everything else
	 * that fails gives `invalid`. Never throws on a bad token.
	 */
	verifyAccessToken(token: string): Promise<TokenCheck>;
}

export interface AccessTokenOptions {
	/** HMAC key, at least 32 bytes. */
	secret: Uint8Array;
	ttlSeconds: number;
	/** Clock in milliseconds since the epoch; tests inject one to expire tokens without sleeping. */
	now?: () => number;
	/** Verified tokens remembered at most (see `verifyAccessToken`); 0 turns the memo off. */
	maxRemembered?: number;
}

interface Remembered {
	check: Extract<TokenCheck, { ok: true }>;
	/** `exp` plus the clock tolerance, in milliseconds. */
	expiresAtMs: number;
}

const validRole = new Set<string>(roles.filter((role) => role !== 'admin'));

/** Creates the signer and verifier of access tokens around one key. */
export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
	const { secret, ttlSeconds } = options;
	const now = options.now ?? Date.now;
	const maxRemembered = options.maxRemembered ?? 10_000;
	if (secret.byteLength < 32) throw new Error('The JWT key must be at least 32 bytes.');
	// jose verifies through WebCrypto, ~100 µs a call: a core's worth at 10k requests/s. A service
	// reuses one token for its whole life, so the outcome of a full verification is remembered,
	// keyed by the exact token string (same bytes, same signature, same claims); only the expiry
	// is checked again on each use. Failures are not remembered: they would let junk fill the map.
	const remembered = new Map<string, Remembered>();

	function remember(token: string, check: Remembered['check'], exp: number): void {
		if (maxRemembered <= 0) return;
		if (remembered.size >= maxRemembered) {
			// Drop the oldest entry (Maps iterate in insertion order).
			const oldest = remembered.keys().next();
			if (!oldest.done) remembered.delete(oldest.value);
		}
		remembered.set(token, { check, expiresAtMs: (exp + CLOCK_TOLERANCE_SECONDS) * 1000 });
	}

	return {
		async signAccessToken(subject) {
			const issuedAt = Math.floor(now() / 1000);
			const jti = randomUUID();
			const accessToken = await new SignJWT({ role: subject.role, name: subject.name })
				.setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
				.setIssuer(JWT_ISSUER)
				.setAudience(JWT_AUDIENCE)
				.setSubject(subject.id)
				.setJti(jti)
				.setIssuedAt(issuedAt)
				.setExpirationTime(issuedAt + ttlSeconds)
				.sign(secret);
			return { accessToken, expiresIn: ttlSeconds, expiresAt: new Date((issuedAt + ttlSeconds) * 1000), jti };
		},

		async verifyAccessToken(token) {
			const known = remembered.get(token);
			if (known) {
				if (now() < known.expiresAtMs) return known.check;
				remembered.delete(token);
				return EXPIRED;
			}
			try {
				const { payload } = await jwtVerify(token, secret, {
					algorithms: [ALGORITHM],
					issuer: JWT_ISSUER,
					audience: JWT_AUDIENCE,
					requiredClaims: ['sub', 'jti', 'iat', 'exp'],
					clockTolerance: CLOCK_TOLERANCE_SECONDS,
					currentDate: new Date(now())
				});
				const { sub, jti, role, name, exp, iat } = payload;
				// We never issue a token dated in the future or living longer than `ttlSeconds`; one
				// that does, correctly signed, would mean a leaked key or a forged clock: refused.
				if (typeof iat !== 'number' || typeof exp !== 'number') return INVALID;
				if (iat > now() / 1000 + CLOCK_TOLERANCE_SECONDS || exp - iat > ttlSeconds) return INVALID;
				// The signature proves we issued it, but a claim of the wrong shape is still refused:
				// it would mean a bug or a leaked key, and `admin` is never a service account's role.
				if (typeof sub !== 'string' || typeof jti !== 'string' || typeof name !== 'string') return INVALID;
				if (typeof role !== 'string' || !validRole.has(role)) return INVALID;
				// Frozen: a remembered outcome is shared by every request that presents this token.
				const principal: Principal = Object.freeze({ kind: 'service', id: sub, name, role: role as Role });
				const check = Object.freeze({ ok: true, principal, jti } as const);
				remember(token, check, exp);
				return check;
			} catch (error) {
				return error instanceof errors.JWTExpired ? EXPIRED : INVALID;
			}
		}
	};
}

const INVALID = { ok: false, error: 'invalid' } as const;
const EXPIRED = { ok: false, error: 'expired' } as const;

const DEV_SECRET_KEY = Symbol.for('credible.devJwtSecret');
type DevSecretGlobal = typeof globalThis & { [DEV_SECRET_KEY]?: Uint8Array };

/**
 * The signing key from the environment. Production requires `JWT_SECRET` (env.ts refuses to
 * start without it). In development and tests an unset secret becomes a random key for this
 * process, with one warning: tokens then die with the process and are not accepted by other
 * instances. The key sits on `globalThis` because the custom server and the SvelteKit bundle load
 * this module separately and must agree on it.
 */
export function jwtSecretFromEnv(config: Pick<Env, 'JWT_SECRET' | 'NODE_ENV'>): Uint8Array {
	if (config.JWT_SECRET) return new TextEncoder().encode(config.JWT_SECRET);
	if (config.NODE_ENV === 'production') throw new Error('JWT_SECRET is required when NODE_ENV=production');
	const holder = globalThis as DevSecretGlobal;
	if (!holder[DEV_SECRET_KEY]) {
		holder[DEV_SECRET_KEY] = new Uint8Array(randomBytes(32));
		logger.warn(
			'JWT_SECRET is not set: using a random key for this process; access tokens will not survive a restart or work on other instances'
		);
	}
	return holder[DEV_SECRET_KEY];
}
