/**
 * The SvelteKit `/trpc` door refuses a bad bearer token (401) and a principal over its rate limit
 * (429) before tRPC runs; both answers are in tRPC's error shape, one per procedure of a batch, as
 * the Node fast path's are, so that a tRPC client reads them as errors of its calls.
 */
import type { RequestEvent } from '@sveltejs/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '$lib/server/auth/handles';
import { serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';

interface Shape {
	error: { message: string; code: number; data: { code: string; httpStatus: number; path: string } };
}

describe('the SvelteKit /trpc door', () => {
	let t: TestCore;
	let token: string;
	const handle = authenticate({ bearer: (core) => core.auth });
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
