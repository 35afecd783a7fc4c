/**
 * `/trpc` calls of the direct procedures (`trpc/direct.ts`: `scoring.score`, `scoring.scoreBatch`,
 * `outcomes.record`) made by a bearer-authenticated service, served from the Node fast path in
 * tRPC's own wire format, with the API's body limit. tRPC's fetch adapter inside SvelteKit costs more
 * than the scoring itself: STACK.md measured it at 1,700–2,200 req/s on this machine with an empty
 * procedure (docs/performance.md); and SvelteKit's adapter refuses bodies over 512 kB.
 *
 * The rule is that an answer here is the answer tRPC would give, and only the happy path is
 * written out:
 * - Before the body is read, a request without a valid token, or whose principal may not call
 *   every procedure named, goes on to SvelteKit (`next`), untouched. SvelteKit answers 401/403
 *   exactly as before.
 * - The principal's rate limit is the REST API's (one budget per principal for both doors): over
 *   it, 429 with `Retry-After` and tRPC's `TOO_MANY_REQUESTS` error.
 * - Once the body is read, a body that is not JSON, a batch of the wrong shape, or an input that
 *   fails the procedure's own schema goes to tRPC's fetch adapter with the same body and context.
 *   Nothing has run yet, so this is safe, and the answer is tRPC's own.
 * - What the resolvers throw becomes tRPC's error shape through the router's own error formatter
 *   (`getErrorShape`), with tRPC's status for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import type { Core } from '../core-types';
import { asDomainError, toTRPCError } from '../errors';
import { logger } from '../logger';
import { emitRequest } from '../observability/request-events';
import { inSpan, nameServerSpan } from '../observability/tracing';
import { appRouter } from '../trpc/root';
import type { Principal } from '../auth/principal';
import { accessError, type Context } from '../trpc/trpc';
import { directProcedure, type DirectProcedure } from './direct-procedure';
import type { RestDependencies } from './rest';

export const TRPC_PREFIX = '/trpc/';

/**
 * The direct procedures a request names (`POST /trpc/a,b?batch=1`), or null when it is not one this
 * path serves: another method or procedure, another query string, no bearer token, a body that is
 * not declared JSON, or a client asking for a streamed (JSONL) answer.
 */
export function directCall(req: IncomingMessage, url: string): DirectCall | null {
	if (req.method !== 'POST' || !url.startsWith(TRPC_PREFIX)) return null;
	if (!/^bearer\s/i.test(header(req, 'authorization') ?? '')) return null;
	const type = header(req, 'content-type')?.split(';', 1)[0]?.trim().toLowerCase();
	if (type !== 'application/json') return null;
	if (req.headers['trpc-accept'] !== undefined || /application\/jsonl/i.test(header(req, 'accept') ?? '')) {
		return null;
	}
	const question = url.indexOf('?');
	const query = question === -1 ? '' : url.slice(question + 1);
	if (query !== '' && query !== 'batch=1') return null;
	let names: string[];
	try {
		names = decodeURIComponent(url.slice(TRPC_PREFIX.length, question === -1 ? undefined : question)).split(
			','
		);
	} catch {
		return null;
	}
	const batch = query === 'batch=1';
	if (!batch && names.length !== 1) return null;
	const procedures: DirectProcedure[] = [];
	for (const path of names) {
		const procedure = directProcedure(path);
		if (!procedure) return null;
		procedures.push(procedure);
	}
	return { procedures, batch };
}

export interface DirectCall {
	procedures: DirectProcedure[];
	batch: boolean;
}

export interface TrpcFastRequest {
	req: IncomingMessage;
	res: ServerResponse;
	url: string;
	requestId: string;
	/** Hands the (unread) request to SvelteKit. */
	next: () => void;
	readBody: () => Promise<string | null>;
}

/** Serves a request {@link directCall} accepted (see the file comment). */
export async function serveTrpcFast(
	core: Core,
	deps: RestDependencies,
	call: DirectCall,
	r: TrpcFastRequest
): Promise<void> {
	let authentication: Awaited<ReturnType<RestDependencies['authenticate']>>;
	try {
		authentication = await deps.authenticate(header(r.req, 'authorization'));
	} catch (error) {
		// The database behind authentication is down: a retry later will do (as on the REST door).
		logger.error({ requestId: r.requestId, err: error }, 'trpc authentication failed');
		r.req.resume();
		const unavailable = new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'Try again shortly.' });
		const shapes = call.procedures.map((p) => ({ error: errorShape(unavailable, p.path, undefined, null) }));
		send(r.res, 503, call.batch ? shapes : shapes[0], r.requestId, { 'retry-after': '2' });
		return;
	}
	const principal = 'principal' in authentication ? authentication.principal : null;
	if (!principal || call.procedures.some((p) => accessError(p.meta?.access, principal))) {
		r.next();
		return;
	}
	nameServerSpan('/trpc');
	const limit = await deps.rateLimit(`${principal.kind}:${principal.id}`);
	const body = limit.allowed ? await r.readBody() : null;
	const ctx: Context & { principal: Principal } = {
		core,
		principal,
		requestId: r.requestId,
		ip: r.req.socket.remoteAddress ?? null,
		channel: 'trpc'
	};
	if (body === null) {
		// Over the principal's rate limit (the body is left unread), or a body over the size limit.
		const error = limit.allowed
			? new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: 'The body is too large.' })
			: new TRPCError({ code: 'TOO_MANY_REQUESTS', message: 'Rate limit exceeded; retry later.' });
		const shapes = call.procedures.map((p) => ({ error: errorShape(error, p.path, undefined, ctx) }));
		const headers: Record<string, string> = { connection: 'close' };
		if (!limit.allowed) headers['retry-after'] = String(limit.retryAfterSeconds);
		send(r.res, getHTTPStatusCodeFromError(error), call.batch ? shapes : shapes[0], r.requestId, headers);
		return;
	}
	const inputs = parseInputs(call, body);
	if (inputs === null) {
		await delegate(r, body, ctx);
		return;
	}
	const outcomes = await Promise.all(
		call.procedures.map((procedure, i) => runOne(procedure, inputs[i], ctx))
	);
	const statuses = outcomes.map((o) => o.status);
	const status = statuses.every((s) => s === statuses[0]) ? (statuses[0] ?? 200) : 207;
	const envelopes = outcomes.map((o) => o.envelope);
	send(r.res, status, call.batch ? envelopes : envelopes[0], r.requestId);
}

/** Each call's parsed input, or null when any body or input is not what tRPC would accept as is. */
function parseInputs(call: DirectCall, body: string): unknown[] | null {
	let json: unknown;
	try {
		json = JSON.parse(body);
	} catch {
		return null;
	}
	const raw = call.batch
		? call.procedures.map((_, i) =>
				typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[String(i)] : undefined
			)
		: [json];
	const parsed: unknown[] = [];
	for (const [i, procedure] of call.procedures.entries()) {
		const result = procedure.parse(raw[i]);
		if (!result.success) return null;
		parsed.push(result.data);
	}
	return parsed;
}

async function runOne(
	procedure: DirectProcedure,
	input: unknown,
	ctx: Context & { principal: Principal }
): Promise<{ status: number; envelope: unknown }> {
	const started = performance.now();
	let outcome: { status: number; envelope: unknown };
	try {
		const data = await inSpan(`trpc ${procedure.path}`, { 'rpc.method': procedure.path }, () =>
			procedure.resolve({ ctx, input: input as never })
		);
		outcome = { status: 200, envelope: { result: { data } } };
	} catch (cause) {
		const domain = asDomainError(cause);
		const error = domain
			? toTRPCError(domain)
			: cause instanceof TRPCError
				? cause
				: new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause });
		if (error.code === 'INTERNAL_SERVER_ERROR') {
			logger.error(
				{ requestId: ctx.requestId, path: procedure.path, err: error.cause ?? error },
				'trpc error'
			);
		}
		const shape = errorShape(error, procedure.path, input, ctx);
		outcome = { status: getHTTPStatusCodeFromError(error), envelope: { error: shape } };
	}
	emitRequest({
		kind: 'trpc',
		route: procedure.path,
		status: outcome.status,
		durationMs: performance.now() - started,
		at: Date.now()
	});
	return outcome;
}

/** tRPC's error shape for `error`, through the router's own error formatter. */
function errorShape(error: TRPCError, path: string, input: unknown, ctx: Context | null): unknown {
	return getErrorShape({
		config: appRouter._def._config,
		error,
		type: 'mutation',
		path,
		input,
		ctx: ctx ?? undefined
	});
}

/** Lets tRPC's fetch adapter answer a body this path does not take, with the same context. */
async function delegate(r: TrpcFastRequest, body: string, ctx: Context): Promise<void> {
	const headers = new Headers();
	for (const [name, value] of Object.entries(r.req.headers)) {
		if (value === undefined) continue;
		for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
	}
	const response = await fetchRequestHandler({
		endpoint: '/trpc',
		req: new Request(`http://localhost${r.url}`, { method: 'POST', headers, body }),
		router: appRouter,
		createContext: () => ctx,
		onError: ({ error, path }) => {
			if (error.code === 'INTERNAL_SERVER_ERROR') {
				logger.error({ requestId: ctx.requestId, path, err: error.cause ?? error }, 'trpc error');
			}
		}
	});
	if (r.res.headersSent || r.res.destroyed) return;
	const out: Record<string, string> = { 'x-request-id': r.requestId };
	response.headers.forEach((value, name) => (out[name] = value));
	r.res.writeHead(response.status, out);
	r.res.end(await response.text());
}

function send(
	res: ServerResponse,
	status: number,
	payload: unknown,
	requestId: string,
	headers: Record<string, string> = {}
): void {
	if (res.headersSent || res.destroyed) return;
	res.writeHead(status, {
		'content-type': 'application/json',
		vary: 'trpc-accept, accept',
		'x-request-id': requestId,
		...headers
	});
	res.end(JSON.stringify(payload));
}

function header(req: IncomingMessage, name: string): string | undefined {
	const value = req.headers[name];
	return Array.isArray(value) ? value.join(', ') : value;
}
