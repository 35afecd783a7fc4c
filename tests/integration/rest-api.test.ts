import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { restDependencies } from '$lib/server/http/api';
import { handleRest } from '$lib/server/http/rest';
import { logger } from '$lib/server/logger';
import { countPredictions } from '$lib/server/services/prediction-writer';
import { batchOutput, explainOutput, scoreOutput } from '$lib/server/trpc/schemas';
import { ROOT_FIELD } from '$lib/validation/field-errors';
import { apiClient, serviceToken, type ApiCall, type ApiAnswer } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';

const golden = goldenRows('lending-club/xgb-1.0.0');
const applicant = golden[1]?.raw ?? {};

describe.each(testDatabaseKinds())('REST API on %s', (kind) => {
	let t: TestCore;
	let call: (c: ApiCall) => Promise<ApiAnswer>;
	let scorer: string;
	let viewerToken: string;

	beforeAll(async () => {
		t = await startTestCore(kind, { CORS_ORIGINS: 'https://lender.example' });
		call = apiClient(t.core);
		scorer = await serviceToken(t.core, 'loan-origination');
		viewerToken = await serviceToken(t.core, 'reporting', 'viewer');
	});
	afterAll(async () => {
		await t.dispose();
	});

	it('should score through POST /models/{model}/score with a bearer token and record it', async () => {
		const before = await countPredictions(t.core.db);
		const response = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body: { applicant },
			token: scorer
		});
		expect(response.status).toBe(200);
		const result = response.json as { probability: number; decision: string; reasons: unknown[] };
		expect(result.probability).toBeCloseTo(golden[1]?.probability ?? -1, 6);
		expect(result.reasons.length).toBeGreaterThan(0);
		expect(await countPredictions(t.core.db)).toBe(before + 1);
	});

	it('should answer 401 without a token or with a forged one, and 403 for a role that may not score', async () => {
		const body = { applicant };
		expect((await call({ method: 'POST', path: '/models/lending-club/score', body })).status).toBe(401);
		const forged = `${scorer.slice(0, -4)}AAAA`;
		const bad = await call({ method: 'POST', path: '/models/lending-club/score', body, token: forged });
		expect(bad.status).toBe(401);
		const viewer = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body,
			token: viewerToken
		});
		expect(viewer.status).toBe(403);
	});

	it('should answer 400 naming every bad field', async () => {
		const response = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body: { applicant: { ...applicant, int_rate: 'high', sub_grade: 'Z9' } },
			token: scorer
		});
		expect(response.status).toBe(400);
		const error = (response.json as { error: { fieldErrors: Record<string, string[]> } }).error;
		expect(Object.keys(error.fieldErrors).sort()).toEqual(['applicant.int_rate', 'applicant.sub_grade']);
	});

	it('should answer 404 for an unknown model and 405 for a wrong method', async () => {
		expect(
			(await call({ method: 'POST', path: '/models/nope/score', body: { applicant }, token: scorer })).status
		).toBe(404);
		expect((await call({ method: 'GET', path: '/models/lending-club/score', token: scorer })).status).toBe(
			405
		);
	});

	it('should replay an Idempotency-Key instead of scoring twice', async () => {
		const request = {
			method: 'POST',
			path: '/models/lending-club/score',
			body: { applicant },
			token: scorer,
			headers: { 'Idempotency-Key': 'application-991' }
		};
		const first = await call(request);
		const before = await countPredictions(t.core.db);
		const second = await call(request);
		expect((second.json as { predictionId: string }).predictionId).toBe(
			(first.json as { predictionId: string }).predictionId
		);
		expect((second.json as { replayed: boolean }).replayed).toBe(true);
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should score a batch with per-row errors', async () => {
		const applicants = golden.slice(0, 20).map((g) => g.raw as Record<string, unknown>);
		applicants[5] = { ...applicants[5], funded_amnt: -1 };
		const response = await call({
			method: 'POST',
			path: '/models/lending-club/score/batch',
			body: { applicants },
			token: scorer
		});
		expect(response.status).toBe(200);
		const batch = response.json as {
			summary: { scored: number; rejected: number };
			results: { ok: boolean }[];
		};
		expect(batch.summary).toMatchObject({ scored: 19, rejected: 1 });
		expect(batch.results[5]?.ok).toBe(false);
	});

	it('should answer the scoring routes (served without a tRPC caller) as their output schemas describe', async () => {
		const single = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body: { applicant, explain: true },
			token: scorer
		});
		expect(single.status).toBe(200);
		expect(scoreOutput.strict().safeParse(single.json).error).toBeUndefined();
		const batch = await call({
			method: 'POST',
			path: '/models/lending-club/score/batch',
			body: { applicants: [applicant, { ...applicant, funded_amnt: -1 }], explain: true },
			token: scorer
		});
		expect(batch.status).toBe(200);
		expect(batchOutput.safeParse(batch.json).error).toBeUndefined();
	});

	it('should explain an applicant and a stored prediction through POST /explain with a verified counterfactual', async () => {
		const { approveBelow } = t.core.models.resolve('lending-club').manifest.policy.cutoffs;
		const notApproved = golden.find((row) => row.probability >= approveBelow)?.raw ?? {};
		const fresh = await call({
			method: 'POST',
			path: '/explain',
			body: { model: 'lending-club', applicant: notApproved },
			token: scorer
		});
		expect(fresh.status).toBe(200);
		const answer = explainOutput.strict().parse(fresh.json);
		expect(answer.counterfactual.searched).toBe(true);
		expect(answer.counterfactual.targetProbability).toBeLessThan(approveBelow);
		if (answer.counterfactual.found) {
			const changed = { ...notApproved };
			for (const c of answer.counterfactual.changes) {
				changed[c.feature] = typeof notApproved[c.feature] === 'string' ? c.toValue : Number(c.toValue);
			}
			const again = await call({
				method: 'POST',
				path: '/explain',
				body: { model: 'lending-club', applicant: changed },
				token: scorer
			});
			const rescored = explainOutput.parse(again.json);
			expect(rescored.probability).toBeCloseTo(answer.counterfactual.probability ?? -1, 9);
			expect(rescored.decision).toBe('approve');
			expect(rescored.counterfactual).toMatchObject({ searched: false, found: false });
		} else {
			expect(answer.counterfactual.reason).toMatch(/No change/);
		}
		const scored = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body: { applicant: notApproved },
			token: scorer
		});
		const { predictionId } = scored.json as { predictionId: string };
		const stored = await call({ method: 'POST', path: '/explain', body: { predictionId }, token: scorer });
		expect(stored.status).toBe(200);
		expect(explainOutput.strict().parse(stored.json).counterfactual).toEqual(answer.counterfactual);
	});

	it('should check the scoring input schema itself: unknown and mistyped top-level fields are named', async () => {
		const response = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body: { applicant, explain: 'yes', bogus: 1 },
			token: scorer
		});
		expect(response.status).toBe(400);
		const error = (response.json as { error: { code: string; fieldErrors: Record<string, string[]> } }).error;
		expect(error.code).toBe('BAD_REQUEST');
		expect(Object.keys(error.fieldErrors).sort()).toEqual([ROOT_FIELD, 'explain'].sort());
		expect(error.fieldErrors[ROOT_FIELD]?.join(' ')).toMatch(/bogus/);
	});

	it('should list and describe models, and report health without a token', async () => {
		const list = await call({ path: '/models', token: viewerToken });
		expect(list.status).toBe(200);
		const info = await call({ path: '/models/consumer-credit', token: viewerToken });
		expect((info.json as { features: { name: string }[] }).features.map((f) => f.name)).toContain('Income');
		const health = await call({ path: '/health' });
		expect(health.status).toBe(200);
		expect((health.json as { status: string }).status).toBe('ready');
	});

	it('should serve an OpenAPI 3 document with every REST route and the token endpoint', async () => {
		const response = await call({ path: '/openapi.json' });
		const document = response.json as {
			openapi: string;
			paths: Record<string, unknown>;
			components: { schemas: object };
		};
		expect(document.openapi).toMatch(/^3\./);
		expect(Object.keys(document.paths)).toEqual(
			expect.arrayContaining([
				'/models/{model}/score',
				'/models/{model}/score/batch',
				'/models',
				'/models/{model}',
				'/health',
				'/explain',
				'/oauth/token'
			])
		);
		expect(Object.keys(document.components.schemas)).toContain('Applicant_lending_club_xgb_1_0_0');
	});

	it('should answer CORS preflights for allowed origins only', async () => {
		const preflight = (origin: string) =>
			call({
				method: 'OPTIONS',
				path: '/models/lending-club/score',
				headers: {
					origin,
					'access-control-request-method': 'POST',
					'access-control-request-headers': 'content-type, authorization'
				}
			});
		const allowed = await preflight('https://lender.example');
		expect(allowed.status).toBe(204);
		expect(allowed.headers['access-control-allow-origin']).toBe('https://lender.example');
		const refused = await preflight('https://evil.example');
		expect(refused.headers['access-control-allow-origin']).toBeUndefined();
	});

	it('should refuse a body that is not JSON with 415 and broken JSON with 400', async () => {
		const text = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body: 'applicant=1',
			headers: { 'content-type': 'text/plain' },
			token: scorer
		});
		expect(text.status).toBe(415);
		const broken = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body: '{"applicant": {',
			headers: { 'content-type': 'application/json' },
			token: scorer
		});
		expect(broken.status).toBe(400);
	});
	it('should answer a malformed percent-encoding in a path parameter with a field-level 400, after the rate limit, logging nothing', async () => {
		const errors = vi.spyOn(logger, 'error');
		try {
			for (const path of ['/models/%', '/models/%E0%A4%A/score', '/models/%ff', '/models/%ff/performance']) {
				const method = path.endsWith('/score') ? 'POST' : 'GET';
				const body = method === 'POST' ? { applicant } : undefined;
				const answer = await call({ method, path, body, token: scorer });
				expect(answer.status, path).toBe(400);
				const error = (
					answer.json as { error: { requestId?: string; fieldErrors?: Record<string, string[]> } }
				).error;
				expect(error.requestId, path).toMatch(/^[0-9a-f-]{36}$/);
				expect(Object.keys(error.fieldErrors ?? {}), path).toEqual(['model']);
			}
			expect(errors).not.toHaveBeenCalled();
		} finally {
			errors.mockRestore();
		}
		let consumed = 0;
		const refused = await handleRest(
			{
				method: 'GET',
				path: '/models/%ff',
				query: new URLSearchParams(),
				headers: {},
				body: '',
				ip: '192.0.2.1',
				requestId: randomUUID()
			},
			{
				...restDependencies(t.core),
				rateLimit: () => {
					consumed += 1;
					return Promise.resolve({ allowed: false, retryAfterSeconds: 1 });
				}
			}
		);
		expect(consumed).toBe(1);
		expect(refused.status).toBe(429);
	});
	it('should score with the version named by ?version= on POST score and score/batch, and 404 an unknown one', async () => {
		const one = await call({
			method: 'POST',
			path: '/models/lending-club/score?version=scorecard-1.0.0',
			body: { applicant },
			token: scorer
		});
		expect(one.status).toBe(200);
		expect((one.json as { model: { version: string } }).model.version).toBe('scorecard-1.0.0');
		const batch = await call({
			method: 'POST',
			path: '/models/lending-club/score/batch?version=scorecard-1.0.0',
			body: { applicants: [applicant] },
			token: scorer
		});
		expect(batch.status).toBe(200);
		expect((batch.json as { model: { version: string } }).model.version).toBe('scorecard-1.0.0');
		for (const path of [
			'/models/lending-club/score?version=nope-9',
			'/models/lending-club/score/batch?version=nope-9'
		]) {
			const body = path.endsWith('batch?version=nope-9') ? { applicants: [applicant] } : { applicant };
			expect((await call({ method: 'POST', path, body, token: scorer })).status, path).toBe(404);
		}
		const clash = await call({
			method: 'POST',
			path: '/models/lending-club/score?version=scorecard-1.0.0',
			body: { applicant, version: 'xgb-1.0.0' },
			token: scorer
		});
		expect(clash.status).toBe(400);
		expect(Object.keys((clash.json as { error: { fieldErrors: object } }).error.fieldErrors)).toEqual([
			'version'
		]);
	});

	it('should answer 409 to an Idempotency-Key replayed with another version', async () => {
		const headers = { 'Idempotency-Key': `versioned-${randomUUID()}` };
		const first = await call({
			method: 'POST',
			path: '/models/lending-club/score?version=xgb-1.0.0',
			body: { applicant },
			token: scorer,
			headers
		});
		expect(first.status).toBe(200);
		const other = await call({
			method: 'POST',
			path: '/models/lending-club/score?version=scorecard-1.0.0',
			body: { applicant },
			token: scorer,
			headers
		});
		expect(other.status).toBe(409);
		expect((other.json as { error: { code: string } }).error.code).toBe('CONFLICT');
		const batchHeaders = { 'Idempotency-Key': `versioned-batch-${randomUUID()}` };
		const batch = {
			method: 'POST',
			path: '/models/lending-club/score/batch',
			token: scorer,
			headers: batchHeaders
		};
		expect((await call({ ...batch, body: { applicants: [applicant], version: 'xgb-1.0.0' } })).status).toBe(
			200
		);
		const otherBatch = await call({
			...batch,
			body: { applicants: [applicant], version: 'scorecard-1.0.0' }
		});
		expect(otherBatch.status).toBe(409);
		// Without a version, a replay answers what was recorded, whichever version that was.
		const again = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body: { applicant },
			token: scorer,
			headers
		});
		expect((again.json as { replayed: boolean }).replayed).toBe(true);
	});
	it('should refuse __proto__ in an applicant as it refuses constructor, on score and explain', async () => {
		const fields = applicant as Record<string, unknown>;
		for (const key of ['__proto__', 'constructor']) {
			const body = `{"applicant":{${JSON.stringify(key)}:{"x":1},${JSON.stringify(fields).slice(1)}}`;
			const rest = await call({
				method: 'POST',
				path: '/models/lending-club/score',
				body,
				headers: { 'content-type': 'application/json' },
				token: scorer
			});
			expect(rest.status, key).toBe(400);
			const error = (rest.json as { error: { fieldErrors: Record<string, string[]> } }).error;
			expect(error.fieldErrors.applicant?.join(' '), key).toContain(key);
			const explain = await call({
				method: 'POST',
				path: '/explain',
				body: `{"model":"lending-club",${body.slice(1)}`,
				headers: { 'content-type': 'application/json' },
				token: scorer
			});
			expect(explain.status, key).toBe(400);
		}
	});
	it('should answer a REST 401 with the RFC 6750 challenge: invalid_token for a bad token, none for a missing one', async () => {
		const forged = `${scorer.slice(0, -4)}AAAA`;
		for (const token of [forged, 'not-a-jwt']) {
			const bad = await call({
				method: 'POST',
				path: '/models/lending-club/score',
				body: { applicant },
				token
			});
			expect(bad.status).toBe(401);
			expect(bad.headers['www-authenticate']).toMatch(/^Bearer realm="credible", error="invalid_token"/);
		}
		const missing = await call({ method: 'POST', path: '/models/lending-club/score', body: { applicant } });
		expect(missing.status).toBe(401);
		expect(missing.headers['www-authenticate']).toBe('Bearer realm="credible"');
	});
	it('should reference the applicant schemas from the score, batch and explain bodies, and declare security on every operation', async () => {
		type Operation = {
			security?: unknown[];
			requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
		};
		const document = (await call({ path: '/openapi.json' })).json as {
			paths: Record<string, Record<string, Operation>>;
		};
		const body = (path: string) =>
			document.paths[path]?.post?.requestBody?.content['application/json']?.schema;
		const refs = (schema: unknown) =>
			JSON.stringify(schema).match(/#\/components\/schemas\/Applicant_[A-Za-z0-9_]+/g) ?? [];
		for (const [path, field] of [
			['/models/{model}/score', 'applicant'],
			['/explain', 'applicant'],
			['/models/{model}/score/batch', 'applicants']
		] as const) {
			expect(refs(body(path)?.properties[field]), path).toContain(
				'#/components/schemas/Applicant_lending_club_xgb_1_0_0'
			);
		}
		for (const [path, methods] of Object.entries(document.paths)) {
			for (const [method, operation] of Object.entries(methods)) {
				expect(Array.isArray(operation.security), `${method} ${path}`).toBe(true);
			}
		}
		expect(document.paths['/health']?.get?.security).toEqual([]);
		expect(document.paths['/oauth/token']?.post?.security).toEqual([]);
		expect(document.paths['/models/{model}/score']?.post?.security).toEqual([{ bearer: [] }]);
	});
});
