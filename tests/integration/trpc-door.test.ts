/**
 * The SvelteKit `/trpc` door refuses a bad bearer token (401) and a principal over its rate limit
 * (429) before tRPC runs; both answers are in tRPC's error shape, one per procedure of a batch, as
 * the Node fast path's are, so that a tRPC client reads them as errors of its calls. A body over
 * adapter-node's limit is a 413 in the same shape, not tRPC's 400 "could not parse".
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestEvent } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { getRequest, setResponse } from '@sveltejs/kit/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '$lib/server/auth/handles';
import { trpcHandle } from '$lib/server/trpc/handle';
import { trpcErrorBody } from '$lib/server/trpc/trpc';
import { serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';

interface Shape {
	error: { message: string; code: number; data: { code: string; httpStatus: number; path: string } };
}

describe('the SvelteKit /trpc door', () => {
	let t: TestCore;
	let token: string;
	const handle = authenticate({
		bearer: (core) => core.auth,
		trpcRefusal: (code, message, url) => trpcErrorBody(new TRPCError({ code, message }), url)
	});
	const call = async (path: string, authorization: string) => {
		const url = new URL(`http://localhost${path}`);
		const event = {
			url,
			request: new Request(url, {
				method: 'POST',
				headers: { authorization, 'content-type': 'application/json' }
			}),
			locals: { core: t.core, requestId: 'door' },
			cookies: { get: () => undefined }
		} as unknown as RequestEvent;
		return handle({ event, resolve: () => Promise.resolve(new Response('resolved', { status: 299 })) });
	};

	beforeAll(async () => {
		t = await startTestCore('pglite', { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_WINDOW_SECONDS: '1' });
		token = await serviceToken(t.core, 'door');
	});
	afterAll(async () => {
		await t.dispose();
	});

	it('should answer a bad bearer token with 401 in tRPC’s shape, per procedure of a batch', async () => {
		const single = await call('/trpc/scoring.score', 'Bearer not.a.token');
		expect(single.status).toBe(401);
		expect(single.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
		const one = (await single.json()) as Shape;
		expect(one.error.data).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401, path: 'scoring.score' });
		const batch = await call('/trpc/scoring.score,models.list?batch=1', 'Bearer not.a.token');
		const shapes = (await batch.json()) as Shape[];
		expect(shapes.map((s) => s.error.data.path)).toEqual(['scoring.score', 'models.list']);
	});

	it('should answer a principal over its rate limit with 429 in tRPC’s shape', async () => {
		// One call a second: within three calls, two fall in the same window.
		let refused = await call('/trpc/models.list', `Bearer ${token}`);
		for (let i = 0; i < 2 && refused.status !== 429; i++)
			refused = await call('/trpc/models.list', `Bearer ${token}`);
		expect(refused.status).toBe(429);
		expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
		const shape = (await refused.json()) as Shape;
		expect(shape.error.data).toMatchObject({
			code: 'TOO_MANY_REQUESTS',
			httpStatus: 429,
			path: 'models.list'
		});
	});
});

describe('the SvelteKit /trpc door behind adapter-node’s body limit', () => {
	const scorer = { kind: 'service', id: 'door-scorer', name: 'door', role: 'scorer' } as const;
	let t: TestCore;
	let server: Server;
	let base: string;

	beforeAll(async () => {
		t = await startTestCore('pglite');
		// adapter-node reads requests with SvelteKit's own getRequest and its BODY_SIZE_LIMIT.
		server = createServer((req, res) => {
			void (async () => {
				const request = await getRequest({ request: req, base: 'http://localhost', bodySizeLimit: 1024 });
				const event = {
					url: new URL(request.url),
					request,
					locals: { core: t.core, requestId: 'door', principal: scorer, channel: 'trpc' }
				} as unknown as RequestEvent;
				const response = await trpcHandle({
					event,
					resolve: () => Promise.resolve(new Response(null, { status: 299 }))
				});
				await setResponse(res, response);
			})();
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(async () => {
		await new Promise((resolve) => server.close(resolve));
		await t.dispose();
	});

	it('should answer a body over the limit with 413 in tRPC’s shape, declared or not', async () => {
		const body = JSON.stringify({ model: 'lending-club', applicant: { note: 'x'.repeat(4096) } });
		const declared = await fetch(`${base}/trpc/scoring.score`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body
		});
		expect(declared.status).toBe(413);
		const shape = (await declared.json()) as Shape;
		expect(shape.error.data).toMatchObject({
			code: 'PAYLOAD_TOO_LARGE',
			httpStatus: 413,
			path: 'scoring.score'
		});
		const chunked = await fetch(`${base}/trpc/scoring.score`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: new Blob([body]).stream(),
			duplex: 'half'
		} as RequestInit);
		expect(chunked.status).toBe(413);
	});
});
