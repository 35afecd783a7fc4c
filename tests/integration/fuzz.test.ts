/**
 * Throws thousands of malformed requests at the REST route and the tRPC procedure and checks that
 * every one is a 4xx with no stack trace, never a 5xx, and that no prediction is written. The tRPC
 * bodies go over HTTP through the production shape: the Node fast path, which serves services'
 * `/trpc/scoring.score` calls itself and hands what it does not take to tRPC's adapter. Then every
 * procedure of the router, called in-process with hostile values in its input fields, and every
 * portal page that reads a query string, with hostile values in the names it reads: a 4xx or an
 * answer, never a 5xx.
 */
import { isHttpError, isRedirect, type RequestEvent } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPredictions } from '$lib/server/services/prediction-writer';
import { appRouter, createCaller } from '$lib/server/trpc/root';
import * as auditPage from '../../src/routes/admin/audit/+page.server';
import * as usersPage from '../../src/routes/admin/users/+page.server';
import * as templateRoute from '../../src/routes/batch/[model]/template/+server';
import * as historyExport from '../../src/routes/history/export.csv/+server';
import * as historyPage from '../../src/routes/history/+page.server';
import * as loginPage from '../../src/routes/login/+page.server';
import * as monitoringPage from '../../src/routes/monitoring/+page.server';
import * as alertsPage from '../../src/routes/monitoring/alerts/+page.server';
import * as scorePage from '../../src/routes/score/[model]/+page.server';
import { apiClient, serviceToken, type ApiAnswer, type ApiCall } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { startFastPathServer, type FastPathServer } from '../helpers/fast-path';
import { goldenRows } from '../helpers/golden';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import { makeUser } from '../helpers/people';

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
		.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom('__proto__', 'constructor'))
		.filter((key) => !names.has(key))
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

/** Values that have each broken some parser once: dates outside PostgreSQL's range, encodings, sizes. */
const HOSTILE_TEXT = [
	'',
	' ',
	'0000-01-01',
	'9999-12-31',
	'1899-12-31',
	'275760-09-13',
	'+010000-01-01T00:00:00Z',
	'0000-01-01T00:00:00.000000Z',
	'8.64e15',
	'-1',
	'1e999',
	'NaN',
	'%ff',
	'%E0%A4%A',
	'/к',
	'ü',
	'\u0000',
	'__proto__',
	'constructor',
	'lending-club@',
	'@',
	'lending-club@nope',
	"'; drop table predictions; --",
	huge(401),
	huge(5_000)
];
/** Cursors: well-formed pages with positions the database refuses, and junk. */
const HOSTILE_CURSORS = [
	'eyJ',
	Buffer.from('["0000-01-01T00:00:00.000000Z","00000000-0000-4000-8000-000000000000"]').toString('base64url'),
	Buffer.from('["0000-01-01T00:00:00.000000Z",1]').toString('base64url'),
	Buffer.from('["9999-12-31T23:59:59.999999Z",1]').toString('base64url'),
	Buffer.from('[null,null]').toString('base64url')
];
const hostileText = fc.oneof(
	{ weight: 4, arbitrary: fc.constantFrom(...HOSTILE_TEXT, ...HOSTILE_CURSORS) },
	{ weight: 1, arbitrary: fc.string({ maxLength: 40 }) }
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
	{ weight: 4, arbitrary: hostileText },
	{
		weight: 2,
		arbitrary: fc.constantFrom<unknown>(
			8.64e15,
			-8.64e15,
			1e20,
			-1,
			0,
			Number.NaN,
			Number.POSITIVE_INFINITY,
			2 ** 53,
			null,
			true,
			[],
			{},
			new Date(8.64e15),
			new Date(Number.NaN),
			{ __proto__: { polluted: true } },
			JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
			nested(50)
		)
	},
	{ weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) }
);

interface ZodLike {
	shape?: Record<string, unknown>;
	_zod?: { def?: { in?: ZodLike; out?: ZodLike; innerType?: ZodLike; schema?: ZodLike } };
}

/** The top-level field names of a procedure's input schema, through wrappers (optional, pipe…). */
function fieldNames(schema: ZodLike | undefined, depth = 0): string[] {
	if (!schema || depth > 6) return [];
	if (schema.shape) return Object.keys(schema.shape);
	const def = schema._zod?.def;
	for (const inner of [def?.out, def?.in, def?.innerType, def?.schema]) {
		const names = fieldNames(inner, depth + 1);
		if (names.length > 0) return names;
	}
	return [];
}

const procedures = Object.entries(appRouter._def.procedures).map(([path, procedure]) => {
	const def = (procedure as unknown as { _def: { inputs: ZodLike[] } })._def;
	return { path, fields: fieldNames(def.inputs[0]) };
});

/** A bad input for a procedure with these fields: hostile values in some of them, or anything at all. */
function badInput(fields: string[]): fc.Arbitrary<unknown> {
	const keyed =
		fields.length === 0
			? fc.constant({})
			: fc.dictionary(fc.constantFrom(...fields), hostileValue, { minKeys: 1, maxKeys: fields.length });
	return fc.oneof({ weight: 4, arbitrary: keyed }, { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) });
}

const RUNS_PER_PROCEDURE = 60;

describe.each(testDatabaseKinds())('every procedure and portal query string on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	let adminId: string;

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
		adminId = (await makeUser(t.core.db, { role: 'admin' })).id;
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	it.each(procedures)(
		`should answer ${RUNS_PER_PROCEDURE} bad inputs of $path with a 4xx or an answer, never a 5xx`,
		async ({ path, fields }) => {
			const caller = createCaller({
				core: t.core,
				principal: { kind: 'user', id: adminId, name: 'Fuzz admin', role: 'admin' },
				requestId: 'fuzz',
				ip: '192.0.2.9',
				channel: 'portal'
			});
			let target: unknown = caller;
			for (const key of path.split('.')) target = (target as Record<string, unknown>)[key];
			const procedure = target as (input: unknown) => Promise<unknown>;
			const expectNo5xx = async (input: unknown) => {
				const error = await procedure(input).then(
					() => null,
					(e: unknown) => e
				);
				if (error === null) return;
				const label = `${path}(${JSON.stringify(input)?.slice(0, 200)})`;
				expect(error, `${label} threw a non-tRPC error`).toBeInstanceOf(TRPCError);
				const status = getHTTPStatusCodeFromError(error as TRPCError);
				expect(status, `${label}: ${(error as TRPCError).message}`).toBeLessThan(500);
			};
			// Every hostile text in every field, then random combinations.
			for (const field of fields) {
				for (const value of [...HOSTILE_TEXT, ...HOSTILE_CURSORS]) await expectNo5xx({ [field]: value });
			}
			await fc.assert(fc.asyncProperty(badInput(fields), expectNo5xx), {
				numRuns: RUNS_PER_PROCEDURE,
				seed: 20261204
			});
		}
	);

	/** Every page (and file route) that reads the query string, with the names it reads. */
	const portal = [
		{
			url: '/admin/audit',
			routeId: '/admin/audit',
			names: ['actor', 'action', 'targetType', 'targetId', 'from', 'to', 'cursor'],
			run: (event: RequestEvent) => auditPage.load(event as never)
		},
		{
			url: '/admin/users',
			routeId: '/admin/users',
			names: ['q'],
			run: (event: RequestEvent) => usersPage.load(event as never)
		},
		{
			url: '/history',
			routeId: '/history',
			names: [
				'from',
				'to',
				'decision',
				'band',
				'model',
				'version',
				'requester',
				'q',
				'modelVersion',
				'cursor'
			],
			run: (event: RequestEvent) => historyPage.load(event as never)
		},
		{
			url: '/history/export.csv',
			routeId: '/history/export.csv',
			names: ['from', 'to', 'decision', 'band', 'model', 'version', 'requester', 'q'],
			run: (event: RequestEvent) => historyExport.GET(event as never)
		},
		{
			url: '/monitoring',
			routeId: '/monitoring',
			names: ['range'],
			run: (event: RequestEvent) => monitoringPage.load(event as never)
		},
		{
			url: '/monitoring/alerts',
			routeId: '/monitoring/alerts',
			names: ['status', 'rule', 'before'],
			run: (event: RequestEvent) => alertsPage.load(event as never)
		},
		{
			url: '/score/lending-club',
			routeId: '/score/[model]',
			names: ['sample', 'version'],
			params: { model: 'lending-club' },
			run: (event: RequestEvent) => scorePage.load(event as never)
		},
		{
			url: '/batch/lending-club/template',
			routeId: '/batch/[model]/template',
			names: ['version'],
			params: { model: 'lending-club' },
			run: (event: RequestEvent) => templateRoute.GET(event as never)
		},
		{
			url: '/login',
			routeId: '/login',
			names: ['redirectTo'],
			run: (event: RequestEvent) => loginPage.load(event as never)
		}
	];

	it.each(portal)(
		`should render $url for ${RUNS_PER_PROCEDURE} hostile query strings or answer a 4xx, never a 5xx`,
		async ({ url, routeId, names, params, run }) => {
			const query = fc.dictionary(fc.constantFrom(...names), hostileText, {
				minKeys: 1,
				maxKeys: names.length
			});
			const expectNo5xx = async (values: Record<string, string>) => {
				const search = new URLSearchParams(values).toString();
				const event = pageEvent({ role: 'admin', url: `${url}?${search}`, routeId, params });
				event.locals.principal = { kind: 'user', id: adminId, name: 'Fuzz admin', role: 'admin' };
				const thrown = await Promise.resolve()
					.then(() => run(event))
					.then(
						(answer) => (answer instanceof Response && answer.status >= 500 ? answer : null),
						(e: unknown) => e
					);
				if (thrown === null) return;
				if (isRedirect(thrown)) {
					expect(() => new Headers({ location: thrown.location }), search).not.toThrow();
					return;
				}
				if (isHttpError(thrown)) {
					expect(thrown.status, search).toBeLessThan(500);
					return;
				}
				if (thrown instanceof Response) throw new Error(`${url}?${search}: ${thrown.status}`);
				throw new Error(
					`${url}?${search} threw ${thrown instanceof Error ? thrown.stack : JSON.stringify(thrown)}`
				);
			};
			for (const name of names) {
				for (const value of [...HOSTILE_TEXT, ...HOSTILE_CURSORS]) await expectNo5xx({ [name]: value });
			}
			await fc.assert(fc.asyncProperty(query, expectNo5xx), { numRuns: RUNS_PER_PROCEDURE, seed: 20261205 });
		}
	);
});
