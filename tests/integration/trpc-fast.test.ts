/**
 * The `/trpc` fast path (`http/trpc-fast.ts`) must answer exactly what tRPC's own adapter answers,
 * and hand everything it does not serve to SvelteKit untouched. Each case sends the same request to
 * the fast path (over real HTTP) and to tRPC's fetch adapter with the same principal, and compares.
 */
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restDependencies } from '$lib/server/http/api';
import { countPredictions } from '$lib/server/services/prediction-writer';
import { appRouter } from '$lib/server/trpc/root';
import { scoreOutput } from '$lib/server/trpc/schemas';
import type { Principal } from '$lib/server/auth/principal';
import { serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { HANDED_ON, startFastPathServer, type FastPathServer } from '../helpers/fast-path';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';

const golden = goldenRows('lending-club/xgb-1.0.0');
const applicant = golden[2]?.raw ?? {};

interface Answer {
	status: number;
	json: unknown;
}

describe.each(testDatabaseKinds())('/trpc fast path on %s', (kind) => {
	let t: TestCore;
	let front: FastPathServer;
	let base: string;
	let scorer: string;
	let viewer: string;
	let principal: Principal;

	beforeAll(async () => {
		t = await startTestCore(kind);
		scorer = await serviceToken(t.core, 'trpc-fast-scorer');
		viewer = await serviceToken(t.core, 'trpc-fast-viewer', 'viewer');
		const deps = restDependencies(t.core);
		const found = await deps.authenticate(`Bearer ${scorer}`);
		if (!('principal' in found) || !found.principal) throw new Error('the scorer token did not authenticate');
		principal = found.principal;
		front = await startFastPathServer(t.core);
		base = front.base;
	});
	afterAll(async () => {
		await front.close();
		await t.dispose();
	});

	async function fast(path: string, body: string, token: string | null = scorer): Promise<Answer> {
		const response = await fetch(`${base}/trpc/${path}`, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				...(token ? { authorization: `Bearer ${token}` } : {})
			},
			body
		});
		const text = await response.text();
		return { status: response.status, json: text ? JSON.parse(text) : null };
	}

	async function reference(path: string, body: string): Promise<Answer> {
		const response = await fetchRequestHandler({
			endpoint: '/trpc',
			req: new Request(`http://test/trpc/${path}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body
			}),
			router: appRouter,
			createContext: () => ({ core: t.core, principal, requestId: 'ref', ip: null, channel: 'trpc' as const })
		});
		return { status: response.status, json: await response.json() };
	}

	it('should score through scoring.score in tRPC’s format and record the decision', async () => {
		const before = await countPredictions(t.core.db);
		const answer = await fast('scoring.score', JSON.stringify({ model: 'lending-club', applicant }));
		expect(answer.status).toBe(200);
		const data = (answer.json as { result: { data: unknown } }).result.data;
		expect(scoreOutput.strict().safeParse(data).error).toBeUndefined();
		expect((data as { probability: number }).probability).toBeCloseTo(golden[2]?.probability ?? -1, 6);
		expect(await countPredictions(t.core.db)).toBe(before + 1);
	});

	it('should answer a batched request call by call, 207 when their statuses differ, as tRPC does', async () => {
		const body = JSON.stringify({
			0: { model: 'lending-club', applicant },
			1: { model: 'no-such-model', applicant }
		});
		const [got, expected] = await Promise.all([
			fast('scoring.score,scoring.score?batch=1', body),
			reference('scoring.score,scoring.score?batch=1', body)
		]);
		expect(got.status).toBe(207);
		expect(got.status).toBe(expected.status);
		const [ok, missing] = got.json as [{ result: unknown }, { error: unknown }];
		expect(ok).toHaveProperty('result.data.decision');
		expect(missing).toEqual((expected.json as unknown[])[1]);
	});

	it.each([
		[
			'a field the model refuses (service validation)',
			{ model: 'lending-club', applicant: { ...applicant, int_rate: 'high' } }
		],
		['an unknown model', { model: 'no-such-model', applicant }],
		['an unknown top-level field (input schema)', { model: 'lending-club', applicant, bogus: 1 }],
		['a mistyped option (input schema)', { model: 'lending-club', applicant, explain: 'yes' }]
	])('should answer %s exactly as tRPC does', async (_what, input) => {
		const body = JSON.stringify(input);
		const [got, expected] = await Promise.all([
			fast('scoring.score', body),
			reference('scoring.score', body)
		]);
		expect(got.status).toBeGreaterThanOrEqual(400);
		expect(got).toEqual(expected);
	});

	it('should answer a body that is not JSON exactly as tRPC does, recording nothing', async () => {
		const before = await countPredictions(t.core.db);
		const [got, expected] = await Promise.all([
			fast('scoring.score', '{"model":'),
			reference('scoring.score', '{"model":')
		]);
		expect(got.status).toBe(400);
		expect(got).toEqual(expected);
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should hand on, unread, what it does not serve: no token, a role that may not score, other procedures', async () => {
		const body = JSON.stringify({ model: 'lending-club', applicant });
		expect((await fast('scoring.score', body, null)).status).toBe(HANDED_ON);
		expect((await fast('scoring.score', body, viewer)).status).toBe(HANDED_ON);
		expect((await fast('scoring.score', body, 'not-a-token')).status).toBe(HANDED_ON);
		expect((await fast('scoring.explain', body)).status).toBe(HANDED_ON);
		expect(
			(await fast('scoring.score,scoring.explain?batch=1', JSON.stringify({ 0: {}, 1: {} }))).status
		).toBe(HANDED_ON);
	});
});

describe('/trpc fast path rate limit', () => {
	let t: TestCore;
	let front: FastPathServer;
	let base: string;
	let scorer: string;

	beforeAll(async () => {
		t = await startTestCore('pglite', { RATE_LIMIT_PER_SECOND: '2', RATE_LIMIT_WINDOW_SECONDS: '60' });
		scorer = await serviceToken(t.core, 'trpc-fast-limited');
		front = await startFastPathServer(t.core);
		base = front.base;
	});
	afterAll(async () => {
		await front.close();
		await t.dispose();
	});

	it('should share the principal’s budget and answer 429 with Retry-After and tRPC’s error, recording nothing', async () => {
		const before = await countPredictions(t.core.db);
		const statuses: number[] = [];
		let refused: Response | undefined;
		for (let i = 0; i < 200 && !refused; i++) {
			const response = await fetch(`${base}/trpc/scoring.score`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: `Bearer ${scorer}` },
				body: JSON.stringify({ model: 'lending-club', applicant })
			});
			statuses.push(response.status);
			if (response.status === 429) refused = response;
			else await response.text();
		}
		expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
		const body = (await refused?.json()) as { error: { data: { code: string; httpStatus: number } } };
		expect(body.error.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429 });
		const accepted = statuses.filter((s) => s === 200).length;
		expect(accepted).toBeGreaterThan(0);
		expect(await countPredictions(t.core.db)).toBe(before + accepted);
	});
});

describe('/trpc fast path with the database behind authentication down', () => {
	let t: TestCore;

	beforeAll(async () => {
		t = await startTestCore('pglite');
	});
	afterAll(async () => {
		await t.dispose();
	});

	it('should answer 503 with Retry-After in tRPC’s shape, never a 500', async () => {
		const front = await startFastPathServer(t.core, {
			deps: { authenticate: () => Promise.reject(new Error('connection refused')) }
		});
		try {
			const response = await fetch(`${front.base}/trpc/scoring.score`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: 'Bearer any' },
				body: JSON.stringify({ model: 'lending-club', applicant })
			});
			expect(response.status).toBe(503);
			expect(response.headers.get('retry-after')).toBe('2');
			const body = (await response.json()) as { error: { data: { code: string } } };
			expect(body.error.data.code).toBe('SERVICE_UNAVAILABLE');
		} finally {
			await front.close();
		}
	});
});
