/**
 * The REST API (`/api/v1/*`), derived from the tRPC procedures' own `openapi` metadata: one
 * definition, one validation and one OpenAPI document for both APIs. Framework-agnostic: the Node
 * fast path (`node-adapter.ts`) and the SvelteKit route both translate to and from these types.
 */
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { ZodError } from 'zod';
import type { Core } from '../core-types';
import { asDomainError, retryAfterOf, toTRPCError, ValidationFailed } from '../errors';
import { logger } from '../logger';
import { appRouter, createCaller } from '../trpc/root';
import type { Principal } from '../auth/principal';
import { accessError, type Context, type FileOutput, type Meta } from '../trpc/trpc';
import { directProcedure, type DirectProcedure } from './direct-procedure';
import { fileAnswer } from './file-answer';
import { ROOT_FIELD, toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';

export const API_PREFIX = '/api/v1';

export interface RestRequest {
	method: string;
	/** Path below the API prefix, e.g. `/models/lending-club/score`. */
	path: string;
	query: URLSearchParams;
	/** Lower-case header names. */
	headers: Record<string, string | undefined>;
	body: string;
	ip: string | null;
	requestId: string;
}

export interface RestResponse {
	status: number;
	headers: Record<string, string>;
	/** JSON text, or the raw bytes of a file (a `file` procedure's answer). */
	body: string | Uint8Array<ArrayBuffer>;
}

/**
 * Outcome of authenticating a request's `Authorization` header; a refusal carries the 401's
 * message and its `WWW-Authenticate` challenge (RFC 6750 §3).
 */
export type Authentication = { principal: Principal | null } | { error: string; challenge: string };

/** The challenge of a 401 that names no token error: no token was sent. */
const NO_TOKEN_CHALLENGE = 'Bearer realm="credible"';

export interface RestDependencies {
	core: Core;
	authenticate(authorization: string | undefined): Promise<Authentication>;
	/** Per-principal rate limit; `retryAfterSeconds` when over the limit. */
	rateLimit(key: string): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }>;
}

interface Route {
	method: string;
	segments: string[];
	procedurePath: string;
	/**
	 * Set for the hot scoring routes, served without a tRPC caller: the same access rule, input
	 * schema and resolver, without the middleware chain's context copies and the runtime check of
	 * the output (the resolvers' output type is checked by the compiler, and by `rest-api.test.ts`
	 * against the procedure's output schema). About a fifth of a scoring request's main-thread time
	 * (docs/performance.md).
	 */
	direct: DirectProcedure | undefined;
	/** Set for procedures that answer a file: REST writes its bytes, not the JSON envelope. */
	file: Meta['file'];
}

let routeTable: Route[] | undefined;

/** The REST routes, read from the router on first use (not at import: core and router import each other). */
function routes(): Route[] {
	routeTable ??= Object.entries(appRouter._def.procedures).flatMap(([procedurePath, procedure]) => {
		const meta = (procedure as unknown as { _def: { meta?: Meta } })._def.meta;
		const openapi = meta?.openapi;
		if (!openapi) return [];
		const direct = directProcedure(procedurePath);
		return [
			{ method: openapi.method, segments: splitPath(openapi.path), procedurePath, direct, file: meta.file }
		];
	});
	return routeTable;
}

function splitPath(path: string): string[] {
	return path.split('/').filter((segment) => segment.length > 0);
}

interface Match {
	route: Route;
	params: Record<string, string>;
	/** Parameters whose percent-encoding is malformed (`%ff`, `%E0%A4%A`): a 400 naming them. */
	malformed: string[];
}

function match(method: string, path: string): Match | 'method' | null {
	const segments = splitPath(path);
	let methodMismatch = false;
	for (const route of routes()) {
		if (route.segments.length !== segments.length) continue;
		const params: Record<string, string> = {};
		const malformed: string[] = [];
		const matched = route.segments.every((expected, index) => {
			const actual = segments[index] ?? '';
			if (expected.startsWith('{') && expected.endsWith('}')) {
				const name = expected.slice(1, -1);
				try {
					params[name] = decodeURIComponent(actual);
				} catch {
					malformed.push(name);
				}
				return true;
			}
			return expected.toLowerCase() === actual.toLowerCase();
		});
		if (!matched) continue;
		if (route.method !== method) {
			methodMismatch = true;
			continue;
		}
		return { route, params, malformed };
	}
	return methodMismatch ? 'method' : null;
}

function json(status: number, payload: unknown, headers: Record<string, string> = {}): RestResponse {
	return {
		status,
		headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
		body: JSON.stringify(payload)
	};
}

function problem(
	status: number,
	code: string,
	message: string,
	requestId: string,
	extra: { fieldErrors?: FieldErrors; headers?: Record<string, string> } = {}
): RestResponse {
	return json(status, { error: { code, message, fieldErrors: extra.fieldErrors, requestId } }, extra.headers);
}

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; response: RestResponse };

/** Parses the body of a POST: a JSON object, or a field-level 400/415. */
function parseBody(request: RestRequest): Parsed {
	const type = request.headers['content-type'] ?? '';
	if (!/^application\/json\b/i.test(type)) {
		return {
			ok: false,
			response: problem(
				415,
				'UNSUPPORTED_MEDIA_TYPE',
				'Send the body as application/json.',
				request.requestId
			)
		};
	}
	let value: unknown;
	try {
		value = request.body.length === 0 ? {} : JSON.parse(request.body);
	} catch {
		return {
			ok: false,
			response: problem(400, 'BAD_REQUEST', 'The body is not valid JSON.', request.requestId, {
				fieldErrors: { [ROOT_FIELD]: ['Invalid JSON.'] }
			})
		};
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return {
			ok: false,
			response: problem(400, 'BAD_REQUEST', 'The body must be a JSON object.', request.requestId, {
				fieldErrors: { [ROOT_FIELD]: ['Expected a JSON object.'] }
			})
		};
	}
	return { ok: true, value: value as Record<string, unknown> };
}

function buildInput(request: RestRequest, route: Route, params: Record<string, string>): Parsed {
	let input: Record<string, unknown>;
	// A POST takes the query string too (`/models/{model}/score?version=…`), as fields of the body.
	let fromUrl: [string, string][] = Object.entries(params);
	if (route.method === 'GET' || route.method === 'DELETE') {
		input = Object.fromEntries(request.query.entries());
	} else {
		const body = parseBody(request);
		if (!body.ok) return body;
		input = body.value;
		fromUrl = [...request.query.entries(), ...fromUrl];
	}
	for (const [name, value] of fromUrl) {
		// A body that names another model than the URL is a client bug, not something to guess about.
		if (input[name] !== undefined && input[name] !== value) {
			return {
				ok: false,
				response: problem(400, 'BAD_REQUEST', 'The request has invalid fields.', request.requestId, {
					fieldErrors: { [name]: [`Must match the URL (${value}) or be left out.`] }
				})
			};
		}
		input[name] = value;
	}
	// REST callers say `Idempotency-Key`; tRPC callers put `requestId` in the input.
	const idempotencyKey = request.headers['idempotency-key'];
	if (idempotencyKey && input.requestId === undefined) input.requestId = idempotencyKey;
	return { ok: true, value: input };
}

function errorResponse(error: unknown, requestId: string, procedurePath: string): RestResponse {
	const trpcError =
		error instanceof TRPCError ? error : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error });
	const status = getHTTPStatusCodeFromError(trpcError);
	const cause = trpcError.cause;
	const fieldErrors =
		cause instanceof ZodError
			? toFieldErrors(cause.issues)
			: cause instanceof ValidationFailed
				? cause.fieldErrors
				: undefined;
	if (status >= 500 && trpcError.code === 'INTERNAL_SERVER_ERROR') {
		logger.error({ requestId, path: procedurePath, err: cause ?? trpcError }, 'rest error');
		return problem(500, 'INTERNAL_SERVER_ERROR', 'Internal error; quote the x-request-id header.', requestId);
	}
	const retryAfter = retryAfterOf(trpcError);
	const headers: Record<string, string> =
		retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) };
	// A protected route called without a token.
	if (status === 401) headers['www-authenticate'] = NO_TOKEN_CHALLENGE;
	const message = fieldErrors ? 'The request has invalid fields.' : trpcError.message;
	return problem(status, trpcError.code, message, requestId, { fieldErrors, headers });
}

type Callable = (input?: unknown) => Promise<unknown>;

function procedureOf(caller: unknown, path: string): Callable {
	let target: unknown = caller;
	for (const key of path.split('.')) target = (target as Record<string, unknown>)[key];
	return target as Callable;
}

/** Serves one REST request. Never throws: every failure is an HTTP status with a JSON body. */
export async function handleRest(request: RestRequest, deps: RestDependencies): Promise<RestResponse> {
	const found = match(request.method, request.path);
	if (found === null) return problem(404, 'NOT_FOUND', `No route ${request.path}.`, request.requestId);
	if (found === 'method') {
		return problem(405, 'METHOD_NOT_SUPPORTED', `${request.method} is not allowed here.`, request.requestId);
	}
	const { route, params } = found;

	const authentication = await deps.authenticate(request.headers.authorization);
	if ('error' in authentication) {
		return problem(401, 'UNAUTHORIZED', authentication.error, request.requestId, {
			headers: { 'www-authenticate': authentication.challenge }
		});
	}
	const { principal } = authentication;
	const limit = await deps.rateLimit(
		principal ? `${principal.kind}:${principal.id}` : `ip:${request.ip ?? '?'}`
	);
	if (!limit.allowed) {
		return problem(429, 'TOO_MANY_REQUESTS', 'Rate limit exceeded; retry later.', request.requestId, {
			headers: { 'retry-after': String(limit.retryAfterSeconds) }
		});
	}

	if (found.malformed.length > 0) {
		const fieldErrors = Object.fromEntries(
			found.malformed.map((name) => [name, ['Malformed percent-encoding in the URL.']])
		);
		return problem(400, 'BAD_REQUEST', 'The request has invalid fields.', request.requestId, { fieldErrors });
	}
	const input = buildInput(request, route, params);
	if (!input.ok) return input.response;

	const context: Context = {
		core: deps.core,
		principal,
		requestId: request.requestId,
		ip: request.ip,
		channel: 'api'
	};
	if (route.direct) return serveDirect(route.direct, context, input.value, request.requestId);
	const caller = createCaller(context);
	try {
		const output = await procedureOf(caller, route.procedurePath)(input.value);
		return route.file ? { status: 200, ...fileAnswer(output as FileOutput) } : json(200, output);
	} catch (error) {
		return errorResponse(error, request.requestId, route.procedurePath);
	}
}

/** Serves a direct route: access rule, input schema, resolver (see `Route.direct`). */
async function serveDirect(
	procedure: DirectProcedure,
	ctx: Context,
	rawInput: Record<string, unknown>,
	requestId: string
): Promise<RestResponse> {
	try {
		const { principal } = ctx;
		const denied = accessError(procedure.meta?.access, principal);
		if (denied || !principal) throw denied ?? new TRPCError({ code: 'UNAUTHORIZED' });
		const parsed = procedure.parse(rawInput);
		if (!parsed.success)
			throw new TRPCError({ code: 'BAD_REQUEST', message: 'Invalid input', cause: parsed.error });
		return json(200, await procedure.resolve({ ctx: { ...ctx, principal }, input: parsed.data as never }));
	} catch (error) {
		const domain = asDomainError(error);
		return errorResponse(domain ? toTRPCError(domain) : error, requestId, procedure.path);
	}
}

/**
 * The route template a request matches (`POST /models/{model}/score`), for metrics and span names;
 * null when none does. Never the raw path: model ids and other parameters stay out of labels.
 */
export function restRouteTemplate(method: string, path: string): string | null {
	const found = match(method, path);
	return found && found !== 'method' ? `${found.route.method} /${found.route.segments.join('/')}` : null;
}

/** The routes, for the OpenAPI document and tests. */
export function restRoutes(): readonly {
	method: string;
	path: string;
	procedure: string;
	/** The content type of a route that answers a file. */
	file?: string;
}[] {
	return routes().map((route) => ({
		method: route.method,
		path: `/${route.segments.join('/')}`,
		procedure: route.procedurePath,
		...(route.file ? { file: route.file.contentType } : {})
	}));
}
