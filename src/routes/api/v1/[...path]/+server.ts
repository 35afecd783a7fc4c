/**
 * `/api/v1/*` through SvelteKit: used by `npm run dev` and any deployment without `server.js`.
 * In production `server.js` serves these paths on its fast path before SvelteKit sees them; both
 * call the same `serveApi`.
 */
import { apiHandlerFor } from '$lib/server/http/api';
import { API_PREFIX } from '$lib/server/http/rest';
import type { RequestHandler } from './$types';

export const fallback: RequestHandler = async (event) => {
	const core = event.locals.core;
	const limit = core.env.API_BODY_LIMIT_BYTES;
	const declared = Number(event.request.headers.get('content-length') ?? 0);
	const requestId = event.locals.requestId;
	if (declared > limit) {
		return Response.json(
			{ error: { code: 'PAYLOAD_TOO_LARGE', message: `The body exceeds ${limit} bytes.`, requestId } },
			{ status: 413 }
		);
	}
	const body = event.request.method === 'GET' ? '' : await event.request.text();
	if (Buffer.byteLength(body) > limit) {
		return Response.json(
			{ error: { code: 'PAYLOAD_TOO_LARGE', message: `The body exceeds ${limit} bytes.`, requestId } },
			{ status: 413 }
		);
	}
	const headers: Record<string, string> = {};
	event.request.headers.forEach((value, name) => (headers[name] = value));
	let ip: string | null = null;
	try {
		ip = event.getClientAddress();
	} catch {
		ip = null;
	}
	const response = await apiHandlerFor(core)({
		method: event.request.method,
		path: event.url.pathname.slice(API_PREFIX.length),
		query: event.url.searchParams,
		headers,
		body,
		ip,
		requestId
	});
	return new Response(response.status === 204 ? null : response.body, {
		status: response.status,
		headers: response.headers
	});
};
