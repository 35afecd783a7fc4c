/**
 * CORS for the API, framework-free: plain values in, a status and headers out, so SvelteKit routes
 * and the custom server's fast paths answer alike. The API authenticates with bearer tokens, never
 * cookies, so credentials are not allowed and a wildcard origin (`CORS_ORIGINS=*`) would be safe,
 * though an explicit list is the norm.
 */

export const CORS_ALLOWED_METHODS = ['GET', 'POST', 'OPTIONS'] as const;
export const CORS_ALLOWED_HEADERS = [
	'content-type',
	'authorization',
	'idempotency-key',
	'x-request-id',
	'traceparent'
] as const;
/** Response headers a browser script may read besides the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'www-authenticate'] as const;
/** How long a browser may cache a preflight answer, in seconds. */
const MAX_AGE_SECONDS = 600;

/** The parts of a request CORS looks at; header values as received, or null when absent. */
export interface CorsRequest {
	method: string;
	origin: string | null | undefined;
	/** `Access-Control-Request-Method` (preflight only). */
	requestMethod?: string | null;
	/** `Access-Control-Request-Headers` (preflight only). */
	requestHeaders?: string | null;
}

export interface CorsAnswer {
	/** True for a preflight: answer it with `status` and `headers` and stop. */
	preflight: boolean;
	/** Whether the origin (and, for a preflight, the method and headers) is allowed. */
	allowed: boolean;
	/** 204 for a preflight; for other requests, the status is the route's. */
	status: 204 | null;
	/** Headers to add to the response. Only `Vary` when the origin is not allowed. */
	headers: Record<string, string>;
}

export interface Cors {
	/** Works out the CORS headers for one request. */
	answer(request: CorsRequest): CorsAnswer;
	/** Whether an origin is on the allow-list. */
	allows(origin: string): boolean;
}

/**
 * Builds the policy from the allow-list (`CORS_ORIGINS`). Entries are compared as serialised
 * origins (`https://app.example.com`, no path or trailing slash); `*` allows every origin.
 */
export function createCors(allowedOrigins: readonly string[]): Cors {
	const any = allowedOrigins.includes('*');
	const origins = new Set(allowedOrigins.filter((origin) => origin !== '*').map(normaliseOrigin));
	const allowedMethods = new Set<string>(CORS_ALLOWED_METHODS);
	const allowedHeaders = new Set<string>(CORS_ALLOWED_HEADERS);
	// Browsers send origins already serialised, so the exact lookup nearly always decides.
	const allows = (origin: string) => any || origins.has(origin) || origins.has(normaliseOrigin(origin));

	return {
		allows,
		answer(request): CorsAnswer {
			const preflight = request.method.toUpperCase() === 'OPTIONS' && !!request.requestMethod;
			// The answer depends on these request headers, so shared caches must key on them, whether or
			// not this origin is allowed.
			const vary = preflight
				? 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'
				: 'Origin';
			const status = preflight ? 204 : null;
			const origin = request.origin;
			if (!origin || !allows(origin)) return { preflight, allowed: false, status, headers: { vary } };

			const allowOrigin = any ? '*' : origin;
			if (!preflight) {
				return {
					preflight,
					allowed: true,
					status,
					headers: {
						vary,
						'access-control-allow-origin': allowOrigin,
						'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(', ')
					}
				};
			}
			const methodOk = allowedMethods.has((request.requestMethod ?? '').toUpperCase());
			const headersOk = parseHeaderList(request.requestHeaders).every((name) => allowedHeaders.has(name));
			if (!methodOk || !headersOk) return { preflight, allowed: false, status, headers: { vary } };
			return {
				preflight,
				allowed: true,
				status,
				headers: {
					vary,
					'access-control-allow-origin': allowOrigin,
					'access-control-allow-methods': CORS_ALLOWED_METHODS.join(', '),
					'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
					'access-control-max-age': String(MAX_AGE_SECONDS)
				}
			};
		}
	};
}

function parseHeaderList(value: string | null | undefined): string[] {
	if (!value) return [];
	return value
		.split(',')
		.map((name) => name.trim().toLowerCase())
		.filter((name) => name.length > 0);
}

/** `HTTPS://App.Example.com:443/` and `https://app.example.com` are the same origin. */
function normaliseOrigin(origin: string): string {
	try {
		const url = new URL(origin);
		// `null` (sandboxed frames, file://) and other opaque origins stay as written.
		return url.origin === 'null' ? origin : url.origin;
	} catch {
		return origin;
	}
}
