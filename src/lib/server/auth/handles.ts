/**
 * The SvelteKit handles of people's access, in the order `hooks.server.ts` runs them:
 *   1. `securityHeaders` — headers every response carries (the CSP itself is `kit.csp`);
 *   2. `authenticate` — a bearer token (services) or the session cookie (people) into
 *      `event.locals`; the principal is set only for a session that has passed every step;
 *   3. `guardRoutes` — each page and endpoint's rule from access.ts, before any load or action.
 */
import { error, redirect, type Cookies, type Handle, type RequestEvent } from '@sveltejs/kit';
import type { Core } from '../core-types';
import { NO_CONTENT_CSP, SECURITY_HEADERS } from '../security-headers';
import { logger } from '../logger';
import { getSecuritySettings } from '../services/settings.service';
import { peopleAuthFor } from '../services/auth.service';
import { authenticateBearer, bearerChallenge, type BearerDeps } from './bearer';
import { decide, ruleFor, safeReturnPath, stageOf } from './access';
import { SESSION_COOKIE, type CookieSpec } from './session';

// 1. SECURITY HEADERS

/** Adds the headers a bank-grade portal sends with every answer. */
export function securityHeaders(options: { production: () => boolean }): Handle {
	return async ({ event, resolve }) => {
		const response = await resolve(event);
		const headers = response.headers;
		try {
			for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
			if (options.production())
				headers.set('strict-transport-security', 'max-age=31536000; includeSubDomains');
			// Pages get kit.csp; anything else (JSON, errors) may not run or embed anything at all.
			if (!headers.has('content-security-policy') && !headers.get('content-type')?.startsWith('text/html'))
				headers.set('content-security-policy', NO_CONTENT_CSP);
			// What a signed-in person sees must not linger in shared or back-button caches.
			if (event.locals.session && !headers.has('cache-control'))
				headers.set('cache-control', 'private, no-store');
		} catch {
			// Immutable headers (a proxied fetch response): leave them as they are.
		}
		return response;
	};
}

// 2. AUTHENTICATION

export interface AuthenticateOptions {
	/** The bearer-token checker (the core's `auth`). */
	bearer: (core: Core) => BearerDeps;
	/**
	 * The body of a `/trpc` refusal in tRPC's error shape (`trpcErrorBody` of `trpc/trpc.ts`, given
	 * by the entry point: this layer sits below the transports).
	 */
	trpcRefusal: (code: 'UNAUTHORIZED' | 'TOO_MANY_REQUESTS', message: string, url: URL) => unknown;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Fills `locals.principal`, `locals.session`, `locals.user` and `locals.authStage`. */
export function authenticate(options: AuthenticateOptions): Handle {
	return async ({ event, resolve }) => {
		event.locals.session = null;
		event.locals.user = null;
		event.locals.authStage = null;
		const core = event.locals.core;

		const trpc = isTrpcPath(event);
		// Services call tRPC with a bearer token (`/api/v1` checks its own, in http/api.ts).
		const authorization = trpc ? event.request.headers.get('authorization') : null;
		if (authorization && /^bearer\s/i.test(authorization)) {
			const result = await authenticateBearer(options.bearer(core), authorization);
			if (!('principal' in result)) {
				const challenge = bearerChallenge(result.error);
				return Response.json(options.trpcRefusal('UNAUTHORIZED', challenge.json.message, event.url), {
					status: challenge.status,
					headers: challenge.headers
				});
			}
			// Bearer requests never fall back to the cookie: one request, one identity.
			event.locals.principal = result.principal;
			// One budget per principal across the REST API and tRPC (see limits/rate-limit.ts).
			const limit = await core.rateLimiter.consume(`${result.principal.kind}:${result.principal.id}`);
			if (!limit.allowed) {
				const message = 'Rate limit exceeded; retry later.';
				return Response.json(options.trpcRefusal('TOO_MANY_REQUESTS', message, event.url), {
					status: 429,
					headers: { 'retry-after': String(limit.retryAfterSeconds) }
				});
			}
			return resolve(event);
		}

		const sessionId = event.cookies.get(SESSION_COOKIE);
		if (!sessionId) return resolve(event);
		// tRPC is outside SvelteKit's CSRF check: a cookie only counts for requests from our pages.
		if (trpc && UNSAFE_METHODS.has(event.request.method) && !sameOrigin(event)) return resolve(event);

		const auth = peopleAuthFor(core.database.db, core.env);
		const found = await auth.sessions.validate(sessionId);
		if (!found) {
			setCookie(event.cookies, auth.sessions.blankCookie());
			return resolve(event);
		}
		if (found.session.fresh) setCookie(event.cookies, auth.sessions.cookie(found.session));
		const { requireTwoFactor } = await getSecuritySettings(core.database.db, core.env);
		const stage = stageOf({ ...found, requireTwoFactorForAll: requireTwoFactor });
		event.locals.session = found.session;
		event.locals.user = found.user;
		event.locals.authStage = stage;
		if (stage === 'active') {
			const { id, name, role } = found.user;
			event.locals.principal = { kind: 'user', id, name, role };
		}
		return resolve(event);
	};
}

/** Writes a session cookie (set, renew or clear) on the response. */
export function setCookie(cookies: Cookies, spec: CookieSpec): void {
	cookies.set(spec.name, spec.value, spec.attributes);
}

function isTrpcPath(event: RequestEvent): boolean {
	const path = event.url.pathname;
	return path === '/trpc' || path.startsWith('/trpc/');
}

function sameOrigin(event: RequestEvent): boolean {
	return event.request.headers.get('origin') === event.url.origin;
}

// 3. ROUTE GUARD

/** Applies the route's rule from access.ts; routes without one are refused. */
export const guardRoutes: Handle = async ({ event, resolve }) => {
	const routeId = event.route.id;
	// No route: a 404, or /trpc (procedures check their own rule).
	if (!routeId) return resolve(event);
	const found = ruleFor(routeId);
	if (!found) {
		logger.error({ routeId }, 'route has no access rule in src/lib/server/auth/access.ts; refused');
		return error(403, 'This page is not available.');
	}
	const { principal, authStage } = event.locals;
	const decision = decide(found.rule, { role: principal?.role ?? null, stage: authStage });
	switch (decision.outcome) {
		case 'allow':
			return resolve(event);
		case 'sign_in': {
			if (found.kind === 'endpoint') return apiRefusal(401, 'Sign in or send a bearer token.');
			const back = safeReturnPath(event.url.pathname + event.url.search);
			const reading = event.request.method === 'GET' || event.request.method === 'HEAD';
			const query = reading && back && back !== '/' ? `?redirectTo=${encodeURIComponent(back)}` : '';
			return redirect(303, `/login${query}`);
		}
		case 'continue':
			if (found.kind === 'endpoint') return apiRefusal(403, 'Finish signing in first.');
			return redirect(303, decision.path);
		case 'forbidden': {
			if (found.kind === 'endpoint') return apiRefusal(403, 'You do not have access to this resource.');
			if (event.isDataRequest) return error(403, 'You do not have access to this page.');
			// The refusal page, rendered inside the portal's frame; the refused page's loads and
			// actions never run.
			const refusal = await event.fetch(`${FORBIDDEN_PAGE}?route=${encodeURIComponent(routeId)}`);
			const headers = new Headers(refusal.headers);
			// A response built here does not carry the cookies set during the request: a session
			// renewed by `authenticate` must still reach the browser.
			const { session } = event.locals;
			if (session?.fresh) {
				const core = event.locals.core;
				const spec = peopleAuthFor(core.database.db, core.env).sessions.cookie(session);
				headers.append('set-cookie', event.cookies.serialize(spec.name, spec.value, spec.attributes));
			}
			return new Response(refusal.body, { status: 403, headers });
		}
	}
};

const FORBIDDEN_PAGE = '/forbidden';

function apiRefusal(status: 401 | 403, message: string): Response {
	return Response.json({ error: status === 401 ? 'unauthorized' : 'forbidden', message }, { status });
}
