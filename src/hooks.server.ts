import type { Handle, HandleServerError, RequestEvent, ServerInit } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { TRPCError } from '@trpc/server';
import { randomUUID } from 'node:crypto';
import { getCore } from '$lib/server/core';
import { env } from '$lib/server/env';
import { logger } from '$lib/server/logger';
import { authenticate, guardRoutes, securityHeaders } from '$lib/server/auth/handles';
import { ensureFirstAdmin, firstAdminNotice } from '$lib/server/services/users.service';
import { trpcHandle } from '$lib/server/trpc/handle';
import { trpcErrorBody } from '$lib/server/trpc/trpc';
import { runInRequest } from '$lib/server/observability/request-context';
import { emitRequest, portalRequestKind } from '$lib/server/observability/request-events';
import { nameServerSpan } from '$lib/server/observability/tracing';

/**
 * Opens the database, applies migrations and loads the models before the first request; on the
 * very first start, creates the administrator and prints the password once.
 */
export const init: ServerInit = async () => {
	const core = await getCore();
	const admin = await ensureFirstAdmin(core.database.db, core.env);
	if (admin) {
		// On stdout as a box, not in a JSON log line: the operator must see it, and it must not be
		// shipped to the log store with everything else.
		process.stdout.write(`\n${firstAdminNotice(admin)}\n\n`);
		logger.warn({ email: admin.email }, 'first administrator created; must change password and enrol 2FA');
	}
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (the caller's `X-Request-Id` when well-formed) and a principal slot,
 * binds it (and the trace id) to every log line written while serving it, and reports the finished
 * request to the request metrics.
 */
const identify: Handle = async ({ event, resolve }) => {
	const offered = event.request.headers.get('x-request-id');
	const requestId = offered && REQUEST_ID.test(offered) ? offered : randomUUID();
	event.locals.requestId = requestId;
	event.locals.core = await getCore();
	event.locals.principal = null;
	const started = performance.now();
	const response = await runInRequest(requestId, event.request.headers.get('traceparent'), () =>
		resolve(event)
	);
	response.headers.set('x-request-id', requestId);
	reportRequest(event, response.status, started);
	return response;
};

/**
 * Pages and other SvelteKit routes, by route id. tRPC calls are reported one by one by the base
 * procedure, and `/api/v1` by the REST layer (which SvelteKit serves in development only).
 */
function reportRequest(event: RequestEvent, status: number, started: number): void {
	const { pathname } = event.url;
	if (pathname.startsWith('/trpc')) {
		// One HTTP request may carry a batch of calls; each has its own span and measurement.
		nameServerSpan('/trpc');
		return;
	}
	if (pathname.startsWith('/api/v1/')) return;
	const route = event.route.id ?? '(unmatched)';
	nameServerSpan(route);
	emitRequest({
		kind: portalRequestKind(event.request.method, route),
		route,
		status,
		durationMs: performance.now() - started,
		at: Date.now()
	});
}

export const handle = sequence(
	identify,
	securityHeaders({ production: () => env().NODE_ENV === 'production' }),
	authenticate({
		bearer: (core) => core.auth,
		trpcRefusal: (code, message, url) => trpcErrorBody(new TRPCError({ code, message }), url)
	}),
	guardRoutes,
	trpcHandle
);

/** Unexpected errors: logged with an id; the user sees a safe message and that id, never a stack. */
export const handleError: HandleServerError = ({ error, event, status, message }) => {
	const errorId = event.locals.requestId ?? randomUUID();
	if (status >= 500)
		logger.error({ requestId: errorId, err: error, path: event.url.pathname }, 'unhandled error');
	return { message: status >= 500 ? 'Something went wrong on our side.' : message, errorId };
};
