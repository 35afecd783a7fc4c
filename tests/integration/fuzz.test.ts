/**
 * Throws thousands of malformed requests at the REST route and the tRPC procedure and checks that
 * every one is a 4xx with no stack trace, never a 5xx, and that no prediction is written. The tRPC
 * bodies go over HTTP through the production shape: the Node fast path, which serves services'
 * `/trpc/scoring.score` calls itself and hands what it does not take to tRPC's adapter.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPredictions } from '$lib/server/services/prediction-writer';
import { apiClient, serviceToken, type ApiAnswer, type ApiCall } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { startFastPathServer, type FastPathServer } from '../helpers/fast-path';
import { goldenRows } from '../helpers/golden';

const RUNS_PER_KIND = 2_500;
const valid = goldenRows('lending-club/xgb-1.0.0')[2]?.raw ?? {};
const manifest = (await import('../../models/lending-club/xgb-1.0.0/manifest.json')).default as {
	features: { name: string; type: string; categories: string[] | null }[];
};
const numeric = manifest.features.filter((f) => f.type === 'numeric').map((f) => f.name);
const categorical = manifest.features.filter((f) => f.type !== 'numeric');
const names = new Set(manifest.features.map((f) => f.name));

const huge = (n: number) => 'x'.repeat(n);
function nested(depth: number): unknown {
	let value: unknown = 1;
	for (let i = 0; i < depth; i++) value = { a: value };
	return value;
}

/** A value that is wrong for a numeric feature whatever the feature. */
const badNumber = fc.oneof(
	fc.string(),
	fc.boolean(),
	fc.constant(null),
	fc.constant(1e300),
	fc.constant(-1e300),
	fc.double({ max: -1, noNaN: true }),
	fc.array(fc.integer(), { maxLength: 3 }),
	fc.constant({ value: 5 }),
	fc.constant(huge(50_000))
);

/** A value outside every categorical feature's list. */
const badCategory = fc.oneof(
	fc.string().filter((s) => !categorical.some((f) => f.categories?.includes(s))),
	fc.integer(),
	fc.constant(null),
	fc.constant(['term_36']),
	fc.constant(huge(100_000))
);

/** A valid applicant with one or more things broken. */
const badApplicant: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
	fc
		.record({ name: fc.constantFrom(...numeric), value: badNumber })
		.map(({ name, value }) => ({ ...valid, [name]: value })),
	fc
		.record({ f: fc.constantFrom(...categorical.map((c) => c.name)), value: badCategory })
		.map(({ f, value }) => ({ ...valid, [f]: value })),
	fc.constantFrom(...names).map((name) => {
		const copy: Record<string, unknown> = { ...valid };
		delete copy[name];
		return copy;
	}),
	fc
		.string({ minLength: 1, maxLength: 30 })
		.filter((key) => !names.has(key) && key !== '__proto__')
		.map((key) => ({ ...valid, [key]: 1 })),
	fc.constant({ ...valid, funded_amnt: nested(200) })
);

/** A request body (as text) that must be refused. */
const badBody: fc.Arbitrary<string> = fc.oneof(
	{
		weight: 5,
		arbitrary: badApplicant.map((applicant) => JSON.stringify({ model: 'lending-club', applicant }))
	},
	fc.constantFrom(
		'',
		'{',
		'[1,2',
		'null',
		'42',
		'"text"',
		'[]',
		'{"applicant": NaN}',
		'{"applicant": {"int_rate": 1e999}}'
	),
	fc.string().filter((s) => {
		try {
			JSON.parse(s);
			return false;
		} catch {
			return true;
		}
	}),
	// Built as text: JSON.stringify itself cannot go this deep.
	fc.constant(`{"model":"lending-club","applicant":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`),
	fc.constant(JSON.stringify({ model: 'lending-club', applicant: [valid] })),
	fc.constant(JSON.stringify({ model: 'lending-club', applicant: valid, explain: 'yes' })),
	fc.constant(
		JSON.stringify({ model: 'lending-club', applicant: valid, requestId: 'has spaces and / slashes' })
	),
	fc.constant(JSON.stringify({ model: 'lending-club', applicant: valid, requestId: huge(500) })),
	fc.constant(JSON.stringify({ model: 'no-such-model', applicant: valid })),
	fc.constant(JSON.stringify({ model: huge(10_000), applicant: valid })),
	fc.constant(JSON.stringify({ model: 'lending-club' })),
	fc.constant(JSON.stringify({ model: 'lending-club', applicant: valid, unexpected: true }))
);

function expectRefused(status: number, body: string | Uint8Array): void {
	expect(status).toBeGreaterThanOrEqual(400);
	expect(status).toBeLessThan(500);
	expect(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')).not.toMatch(
		/"stack"|\n\s+at /
	);
}

describe('malformed input', () => {
	let t: TestCore;
	let call: (c: ApiCall) => Promise<ApiAnswer>;
	let token: string;
	let before: number;
	let front: FastPathServer;

	beforeAll(async () => {
		t = await startTestCore('pglite');
		call = apiClient(t.core);
		token = await serviceToken(t.core, 'fuzzer');
		before = await countPredictions(t.core.db);
		// Nothing may be handed on (HANDED_ON is a 5xx): the token is valid and may score.
		front = await startFastPathServer(t.core);
	});
	afterAll(async () => {
		await front.close();
		await t.dispose();
	});

	it(`should answer ${RUNS_PER_KIND * 2} malformed REST bodies with a 4xx and record nothing`, async () => {
		let statuses = 0;
		await fc.assert(
			fc.asyncProperty(badBody, async (body) => {
				const response = await call({
					method: 'POST',
					path: '/models/lending-club/score',
					body,
					headers: { 'content-type': 'application/json' },
					token
				});
				statuses += 1;
				expectRefused(response.status, response.body);
			}),
			{ numRuns: RUNS_PER_KIND * 2, seed: 20261124 }
		);
		expect(statuses).toBe(RUNS_PER_KIND * 2);
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it(`should answer ${RUNS_PER_KIND * 2} malformed tRPC bodies with a 4xx and record nothing`, async () => {
		await fc.assert(
			fc.asyncProperty(badBody, async (body) => {
				const response = await fetch(`${front.base}/trpc/scoring.score`, {
					method: 'POST',
					headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
					body
				});
				expectRefused(response.status, await response.text());
			}),
			{ numRuns: RUNS_PER_KIND * 2, seed: 20261125 }
		);
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should still score a valid applicant after the storm', async () => {
		const response = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			body: { applicant: valid },
			token
		});
		expect(response.status).toBe(200);
		expect(await countPredictions(t.core.db)).toBe(before + 1);
	});
});
