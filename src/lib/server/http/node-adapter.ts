/**
 * The REST API's fast path: `server.js` hands `/api/v1/*` requests to this function before
 * SvelteKit sees them, which skips SvelteKit's per-request machinery (Request/Response objects,
 * streams, async-local storage) on the hot scoring routes. It only translates Node's request and
 * response to `handleRest`; the same handler serves the SvelteKit route in development.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isMetricsPath } from '../observability/metrics-endpoint';
import { setSecurityHeaders } from '../security-headers';
import { runInRequest } from '../observability/request-context';
import { API_PREFIX, type RestRequest, type RestResponse } from './rest';
import { directCall, type DirectCall, type TrpcFastRequest } from './trpc-fast';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export type ApiHandler = (request: RestRequest) => Promise<RestResponse>;

/** Reads a body up to `limit` bytes; resolves null when it is larger. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
	const declared = Number(req.headers['content-length'] ?? 0);
	if (declared > limit) {
		req.resume();
		return Promise.resolve(null);
	}
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		let tooLarge = false;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > limit) tooLarge = true;
			else if (!tooLarge) chunks.push(chunk);
		});
		req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

function send(res: ServerResponse, response: RestResponse, extraHeaders: Record<string, string>): void {
	if (res.headersSent || res.destroyed) return;
	res.writeHead(response.status, { ...response.headers, ...extraHeaders });
	res.end(response.body);
}

export interface FastPathOptions {
	bodyLimitBytes: number;
	handler: ApiHandler;
	/** Serves `/metrics` on this port; absent when metrics have their own port. */
	metrics?: (req: IncomingMessage, res: ServerResponse) => void;
	/** Serves the hot `/trpc` calls of services (`trpc-fast.ts`); absent: SvelteKit serves `/trpc`. */
	trpc?: (call: DirectCall, request: TrpcFastRequest) => Promise<void>;
}

/** Returns the fast path: true when it took the request, false to let SvelteKit serve it. */
export function createFastPath(
	options: FastPathOptions
): (req: IncomingMessage, res: ServerResponse, next?: () => void) => boolean {
	return (req, res, next) => {
		const url = req.url ?? '/';
		const trpc = options.trpc && next ? directCall(req, url) : null;
		if (trpc && options.trpc && next) {
			// Kept when a call is handed on to SvelteKit, whose handle sets the same values.
			setSecurityHeaders(res);
			const serveTrpc = options.trpc;
			const requestId = requestIdOf(req);
			const request: TrpcFastRequest = {
				req,
				res,
				url,
				requestId,
				next,
				readBody: () => readBody(req, options.bodyLimitBytes)
			};
			void runInRequest(requestId, headerOf(req, 'traceparent'), () => serveTrpc(trpc, request)).catch(() => {
				send(res, { status: 500, headers: {}, body: '{"error":{"message":"Internal error"}}' }, {});
			});
			return true;
		}
		if (!url.startsWith(`${API_PREFIX}/`)) {
			if (!options.metrics || !isMetricsPath(url)) return false;
			options.metrics(req, res);
			return true;
		}
		setSecurityHeaders(res);
		const requestId = requestIdOf(req);
		void runInRequest(requestId, headerOf(req, 'traceparent'), () =>
			serve(req, res, url, requestId, options)
		).catch(() => {
			send(res, { status: 500, headers: {}, body: '{"error":{"code":"INTERNAL_SERVER_ERROR"}}' }, {});
		});
		return true;
	};
}

function requestIdOf(req: IncomingMessage): string {
	const offered = req.headers['x-request-id'];
	return typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID();
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
	const value = req.headers[name];
	return typeof value === 'string' ? value : undefined;
}

async function serve(
	req: IncomingMessage,
	res: ServerResponse,
	url: string,
	requestId: string,
	options: FastPathOptions
): Promise<void> {
	const method = req.method ?? 'GET';
	const extra = { 'x-request-id': requestId };
	const body =
		method === 'GET' || method === 'HEAD' || method === 'OPTIONS'
			? ''
			: await readBody(req, options.bodyLimitBytes);
	if (body === null) {
		const payload = {
			error: {
				code: 'PAYLOAD_TOO_LARGE',
				message: `The body exceeds ${options.bodyLimitBytes} bytes.`,
				requestId
			}
		};
		send(
			res,
			{
				status: 413,
				headers: { 'content-type': 'application/json', connection: 'close' },
				body: JSON.stringify(payload)
			},
			extra
		);
		return;
	}
	const question = url.indexOf('?');
	const path = (question === -1 ? url : url.slice(0, question)).slice(API_PREFIX.length);
	const headers: Record<string, string | undefined> = {};
	for (const [name, value] of Object.entries(req.headers))
		headers[name] = Array.isArray(value) ? value.join(', ') : value;
	const response = await options.handler({
		method,
		path,
		query: new URLSearchParams(question === -1 ? '' : url.slice(question + 1)),
		headers,
		body,
		ip: req.socket.remoteAddress ?? null,
		requestId
	});
	send(res, response, extra);
}
