/**
 * Authentication of API calls by `Authorization: Bearer <access token>` (RFC 6750). Runs on every
 * API request, so it does no I/O in the common case: the signature is checked in memory and the
 * account's status comes from the per-instance cache (see account-status.ts for the bound on how
 * soon a revocation is seen: `AUTH_CACHE_SECONDS`, default 5 s).
 */
import type { AccountStatusCache } from './account-status';
import type { AccessTokens } from './jwt';
import type { Principal } from './principal';

export type BearerError = 'missing' | 'invalid' | 'expired' | 'revoked';

export type BearerResult = { principal: Principal } | { error: BearerError };

/** What bearer authentication needs from the core (`core.auth` satisfies it). */
export interface BearerDeps {
	tokens: Pick<AccessTokens, 'verifyAccessToken'>;
	accountStatus: Pick<AccountStatusCache, 'get'>;
}

/** RFC 6750 b64token; JWTs (base64url parts joined by dots) match it. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** Far above any token we issue; refuses absurd headers before any parsing. */
const MAX_HEADER_LENGTH = 4096;

/**
 * Turns an Authorization header into the calling service account, or says why not. `missing`
 * when there is no header; `invalid` for a malformed header or a token that fails its signature
 * or claims; `expired` for a genuine token past its expiry; `revoked` when the account has been
 * revoked (or deleted) — within the cache bound. Rejects only when the status lookup fails
 * (database down): answer 503 then, not 401.
 */
export async function authenticateBearer(
	deps: BearerDeps,
	authorizationHeader: string | null | undefined
): Promise<BearerResult> {
	if (!authorizationHeader) return MISSING;
	if (authorizationHeader.length > MAX_HEADER_LENGTH) return INVALID;
	const token = BEARER.exec(authorizationHeader)?.[1];
	if (!token) return INVALID;
	const check = await deps.tokens.verifyAccessToken(token);
	if (!check.ok) return check.error === 'expired' ? EXPIRED : INVALID;
	const status = await deps.accountStatus.get(check.principal.id);
	return status === 'active' ? { principal: check.principal } : REVOKED;
}

const MISSING = { error: 'missing' } as const;
const INVALID = { error: 'invalid' } as const;
const EXPIRED = { error: 'expired' } as const;
const REVOKED = { error: 'revoked' } as const;

/** A ready 401 answer for a failed bearer authentication: status, headers and JSON body. */
export interface BearerChallenge {
	status: 401;
	headers: Record<string, string>;
	json: { error: 'unauthorized'; reason: BearerError; message: string };
}

const MESSAGES: Record<BearerError, string> = {
	missing: 'Send an access token: Authorization: Bearer <token> (POST /api/v1/oauth/token to get one).',
	invalid: 'The access token is malformed or its signature is not valid.',
	expired: 'The access token has expired; request a new one.',
	revoked: 'The service account of this access token has been revoked.'
};

/**
 * The 401 for `error`, with the `WWW-Authenticate` challenge of RFC 6750 §3: no error code when
 * the token is missing, `invalid_token` otherwise.
 */
export function bearerChallenge(error: BearerError): BearerChallenge {
	const challenge =
		error === 'missing'
			? 'Bearer realm="credible"'
			: `Bearer realm="credible", error="invalid_token", error_description="${MESSAGES[error]}"`;
	return {
		status: 401,
		headers: { 'www-authenticate': challenge, 'cache-control': 'no-store' },
		json: { error: 'unauthorized', reason: error, message: MESSAGES[error] }
	};
}
