/**
 * `POST /api/v1/oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4), free of any
 * HTTP framework so that the SvelteKit route and the custom server's fast path share it. The
 * caller reads the body (capped) and writes out the returned status, headers and JSON.
 *
 * Client authentication: `client_id` and `client_secret` in the body (form or JSON), or HTTP
 * Basic (RFC 6749 §2.3.1) — one method per request. Answers follow RFC 6749 §5.1/§5.2; bad input
 * is always a 4xx with `error` and `error_description`, never a 500.
 */
import type { ExchangeThrottle } from './exchange-throttle';
import { logger } from '../logger';
import {
	CLIENT_ID_PATTERN,
	type RequestMeta,
	type ServiceAccountService
} from '../services/service-accounts.service';

export interface TokenEndpointDeps {
	serviceAccounts: Pick<ServiceAccountService, 'exchangeClientCredentials'>;
	exchangeThrottle: ExchangeThrottle;
}

export interface TokenRequest {
	/** The Content-Type header as sent (parameters such as charset are ignored). */
	contentType: string | null | undefined;
	/** The raw body, already read (and capped) by the caller. */
	body: string;
	ip: string | null;
	requestId: string;
	/** The Authorization header, for HTTP Basic client authentication. */
	authorization?: string | null;
}

export interface TokenSuccess {
	access_token: string;
	token_type: 'Bearer';
	expires_in: number;
}

export type OAuthErrorCode =
	'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'slow_down' | 'server_error';

export interface OAuthErrorBody {
	error: OAuthErrorCode;
	error_description: string;
}

export interface TokenResponse {
	status: 200 | 400 | 401 | 429 | 500;
	headers: Record<string, string>;
	json: TokenSuccess | OAuthErrorBody;
}

/** Bodies larger than this are refused unread; a valid one is under 300 bytes. */
export const MAX_TOKEN_BODY_BYTES = 8 * 1024;
const MAX_FIELD_LENGTH = 512;

const BASE_HEADERS = {
	'content-type': 'application/json; charset=utf-8',
	// RFC 6749 §5.1: responses carrying tokens must not be cached.
	'cache-control': 'no-store',
	pragma: 'no-cache'
} as const;

type Params = Map<string, string>;

/** A refusal of the request as sent; carries its RFC 6749 §5.2 code. */
class BadRequest extends Error {
	constructor(
		readonly error: OAuthErrorCode,
		readonly description: string,
		readonly status: 400 | 401 = 400
	) {
		super(description);
	}
}

/** Answers one token request. Never throws. */
export async function handleTokenRequest(
	deps: TokenEndpointDeps,
	request: TokenRequest
): Promise<TokenResponse> {
	const meta: RequestMeta = { ip: request.ip, requestId: request.requestId };
	let basicUsed = false;
	try {
		const params = parseBody(request.contentType, request.body);
		const grantType = params.get('grant_type');
		if (!grantType) throw new BadRequest('invalid_request', 'grant_type is required.');
		if (grantType !== 'client_credentials')
			throw new BadRequest('unsupported_grant_type', 'Only grant_type=client_credentials is supported.');

		const basic = parseBasic(request.authorization);
		basicUsed = basic !== null;
		const { clientId, clientSecret } = clientCredentials(params, basic);
		const wellFormedId = CLIENT_ID_PATTERN.test(clientId) ? clientId : null;

		const gate = await deps.exchangeThrottle.check(wellFormedId, request.ip);
		if (!gate.allowed) {
			return {
				status: 429,
				headers: { ...BASE_HEADERS, 'retry-after': String(gate.retryAfterSeconds) },
				json: {
					error: 'slow_down',
					error_description: `Too many failed attempts; retry in ${gate.retryAfterSeconds} s.`
				}
			};
		}

		const result = await deps.serviceAccounts.exchangeClientCredentials(clientId, clientSecret, meta);
		if (!result.ok) {
			await deps.exchangeThrottle.recordFailure(wellFormedId, request.ip);
			// The same answer for an unknown client, a wrong secret and a revoked account: the
			// difference is in the audit log, not in a hint to whoever is guessing.
			throw new BadRequest('invalid_client', 'Client authentication failed.', 401);
		}
		await deps.exchangeThrottle.recordSuccess(clientId);
		return {
			status: 200,
			headers: { ...BASE_HEADERS },
			json: {
				access_token: result.token.accessToken,
				token_type: 'Bearer',
				expires_in: result.token.expiresIn
			}
		};
	} catch (error) {
		if (error instanceof BadRequest) {
			const headers: Record<string, string> = { ...BASE_HEADERS };
			// RFC 6749 §5.2: a 401 after HTTP Basic carries the matching challenge.
			if (error.status === 401 && basicUsed) headers['www-authenticate'] = 'Basic realm="credible"';
			return {
				status: error.status,
				headers,
				json: { error: error.error, error_description: error.description }
			};
		}
		logger.error({ requestId: request.requestId, err: error }, 'token endpoint failed');
		return {
			status: 500,
			headers: { ...BASE_HEADERS },
			json: {
				error: 'server_error',
				error_description: 'The token could not be issued; quote the x-request-id header.'
			}
		};
	}
}

/** Reads form or JSON parameters; a parameter given twice is refused (RFC 6749 §3.2). */
function parseBody(contentType: string | null | undefined, body: string): Params {
	if (Buffer.byteLength(body, 'utf8') > MAX_TOKEN_BODY_BYTES)
		throw new BadRequest('invalid_request', `The body exceeds ${MAX_TOKEN_BODY_BYTES} bytes.`);
	const mediaType = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase();
	if (mediaType === 'application/x-www-form-urlencoded') return parseForm(body);
	if (mediaType === 'application/json') return parseJson(body);
	throw new BadRequest(
		'invalid_request',
		'Content-Type must be application/x-www-form-urlencoded (or application/json).'
	);
}

function parseForm(body: string): Params {
	const params: Params = new Map();
	// URLSearchParams decodes leniently and never throws on bad percent-escapes.
	for (const [key, value] of new URLSearchParams(body)) {
		if (params.has(key)) throw new BadRequest('invalid_request', `${key} must not be repeated.`);
		params.set(key, value);
	}
	return checked(params);
}

function parseJson(body: string): Params {
	let parsed: unknown;
	try {
		parsed = JSON.parse(body);
	} catch {
		throw new BadRequest('invalid_request', 'The body is not valid JSON.');
	}
	if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
		throw new BadRequest('invalid_request', 'The body must be a JSON object.');
	const params: Params = new Map();
	for (const [key, value] of Object.entries(parsed)) {
		if (value === undefined || value === null) continue;
		if (typeof value !== 'string') throw new BadRequest('invalid_request', `${key} must be a string.`);
		params.set(key, value);
	}
	return checked(params);
}

function checked(params: Params): Params {
	for (const [key, value] of params) {
		if (value.length > MAX_FIELD_LENGTH)
			throw new BadRequest('invalid_request', `${key} is longer than ${MAX_FIELD_LENGTH} characters.`);
	}
	return params;
}

/** `Basic base64(urlencode(id) ":" urlencode(secret))`; null when no Basic header was sent. */
function parseBasic(header: string | null | undefined): { clientId: string; clientSecret: string } | null {
	// Other schemes (a stale bearer token) are not client authentication here and are ignored.
	const match = header ? /^Basic +([A-Za-z0-9+/=_-]+) *$/i.exec(header) : null;
	if (!header || !/^Basic\b/i.test(header)) return null;
	const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
	const colon = decoded.indexOf(':');
	if (colon < 0) throw new BadRequest('invalid_client', 'The Basic credentials are malformed.', 401);
	try {
		return {
			clientId: formDecode(decoded.slice(0, colon)),
			clientSecret: formDecode(decoded.slice(colon + 1))
		};
	} catch {
		throw new BadRequest('invalid_client', 'The Basic credentials are malformed.', 401);
	}
}

function formDecode(value: string): string {
	return decodeURIComponent(value.replace(/\+/g, ' '));
}

function clientCredentials(
	params: Params,
	basic: { clientId: string; clientSecret: string } | null
): { clientId: string; clientSecret: string } {
	const bodyId = params.get('client_id');
	const bodySecret = params.get('client_secret');
	if (basic) {
		if (bodySecret !== undefined)
			throw new BadRequest(
				'invalid_request',
				'Use one client authentication method: Basic or the body, not both.'
			);
		if (bodyId !== undefined && bodyId !== basic.clientId)
			throw new BadRequest('invalid_request', 'client_id in the body differs from the Basic credentials.');
		return basic;
	}
	if (!bodyId && !bodySecret) {
		throw new BadRequest(
			'invalid_client',
			'Client authentication is required: send client_id and client_secret, or HTTP Basic.',
			401
		);
	}
	if (!bodyId) throw new BadRequest('invalid_request', 'client_id is required.');
	if (!bodySecret) throw new BadRequest('invalid_request', 'client_secret is required.');
	return { clientId: bodyId, clientSecret: bodySecret };
}
