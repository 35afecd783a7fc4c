/**
 * Everything under `/api/v1`, in one framework-agnostic function: CORS (preflight and response
 * headers), the OAuth token endpoint, the OpenAPI document, and the REST routes of the tRPC
 * procedures behind bearer authentication and per-principal rate limits. The Node fast path and
 * the SvelteKit route only translate requests and responses.
 */
import { authenticateBearer, bearerChallenge } from '../auth/bearer';
import { handleTokenRequest, MAX_TOKEN_BODY_BYTES } from '../auth/token-endpoint';
import type { Core } from '../core-types';
import { logger } from '../logger';
import { emitRequest } from '../observability/request-events';
import { nameServerSpan } from '../observability/tracing';
import { openApiDocument } from './openapi';
import {
	handleRest,
	restRouteTemplate,
	type RestDependencies,
	type RestRequest,
	type RestResponse
} from './rest';

function json(status: number, payload: unknown, headers: Record<string, string> = {}): RestResponse {
	return {
		status,
		headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
		body: JSON.stringify(payload)
	};
}

/** The REST layer's dependencies, built from the core. */
export function restDependencies(core: Core): RestDependencies {
	return {
		core,
		authenticate: async (authorization) => {
			// No header: anonymous (public routes answer, protected ones say 401 themselves).
			if (!authorization) return { principal: null };
			const result = await authenticateBearer(core.auth, authorization);
			if ('principal' in result) return result;
			const challenge = bearerChallenge(result.error);
			return { error: challenge.json.message, challenge: challenge.headers['www-authenticate'] ?? '' };
		},
		rateLimit: (key) => core.rateLimiter.consume(key)
	};
}

const handlers = new WeakMap<Core, (request: RestRequest) => Promise<RestResponse>>();

/** The `/api/v1` handler of a core, built once and shared by the fast path and the SvelteKit route. */
export function apiHandlerFor(core: Core): (request: RestRequest) => Promise<RestResponse> {
	let handler = handlers.get(core);
	if (!handler) {
		const deps = restDependencies(core);
		handler = async (request) => {
			const started = performance.now();
			const response = await serveApi(core, deps, request);
			const route = routeLabel(request);
			nameServerSpan(route);
			emitRequest({
				kind: 'rest',
				route,
				status: response.status,
				durationMs: performance.now() - started,
				at: Date.now()
			});
			return response;
		};
		handlers.set(core, handler);
	}
	return handler;
}

/** The low-cardinality name of a request's route, for metrics and the monitoring page. */
function routeLabel(request: RestRequest): string {
	if (request.method === 'OPTIONS') return 'OPTIONS (preflight)';
	if (request.path === '/oauth/token') return 'POST /oauth/token';
	if (request.path === '/openapi.json') return 'GET /openapi.json';
	return restRouteTemplate(request.method, request.path) ?? '(unmatched)';
}

/** Serves one `/api/v1` request. Never throws. */
export async function serveApi(
	core: Core,
	deps: RestDependencies,
	request: RestRequest
): Promise<RestResponse> {
	const cors = core.cors.answer({
		method: request.method,
		origin: request.headers.origin,
		requestMethod: request.headers['access-control-request-method'],
		requestHeaders: request.headers['access-control-request-headers']
	});
	if (cors.preflight) return { status: cors.allowed ? 204 : 403, headers: cors.headers, body: '' };
	let response: RestResponse;
	try {
		response = await route(core, deps, request);
	} catch (error) {
		// The database behind authentication is down: a retry later will do, nothing is lost.
		logger.error({ requestId: request.requestId, err: error }, 'api request failed');
		response = json(
			503,
			{ error: { code: 'SERVICE_UNAVAILABLE', message: 'Try again shortly.', requestId: request.requestId } },
			{ 'retry-after': '2' }
		);
	}
	return { ...response, headers: { ...response.headers, ...cors.headers } };
}

async function route(core: Core, deps: RestDependencies, request: RestRequest): Promise<RestResponse> {
	if (request.path === '/oauth/token' && request.method === 'POST') {
		if (Buffer.byteLength(request.body) > MAX_TOKEN_BODY_BYTES) {
			return json(413, { error: 'invalid_request', error_description: 'The body is too large.' });
		}
		const answer = await handleTokenRequest(core.auth, {
			contentType: request.headers['content-type'],
			body: request.body,
			ip: request.ip,
			requestId: request.requestId,
			authorization: request.headers.authorization
		});
		return json(answer.status, answer.json, answer.headers);
	}
	if (request.path === '/openapi.json' && request.method === 'GET') {
		return json(200, openApiDocument(core.models), { 'cache-control': 'public, max-age=60' });
	}
	return handleRest(request, deps);
}
