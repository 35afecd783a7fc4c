/**
 * Batch scoring from the portal, through its real endpoints behind the real route guard: the CSV
 * template, checking chunks (every bad cell reported, nothing scored), scoring chunks (recorded
 * with channel `batch`), refusals as field-level 4xx, and a 10,000-row file sent as the page does.
 */
import type { RequestEvent } from '@sveltejs/kit';
import Papa from 'papaparse';
import { and, count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '$lib/server/core-types';
import { predictions, type Role } from '$lib/server/db/schema';
import { guardRoutes } from '$lib/server/auth/handles';
import { MAX_CHUNK_ROWS, MAX_FILE_ROWS } from '$lib/server/services/batch.service';
import { countPredictions } from '$lib/server/services/prediction-writer';
import { GET as template } from '../../src/routes/batch/[model]/template/+server';
import { POST as check } from '../../src/routes/batch/[model]/check/+server';
import { POST as score } from '../../src/routes/batch/[model]/score/+server';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';

const CORE_KEY = Symbol.for('credible.core');
const golden = goldenRows('lending-club/xgb-1.0.0');
const columns = Object.keys(golden[0]?.raw ?? {});
const cellsOf = (raw: Record<string, number | string | null>) =>
	columns.map((c) => (raw[c] === null ? '' : String(raw[c])));
const goodRows = golden.map((row) => cellsOf(row.raw));

type Handler = (event: RequestEvent) => Promise<Response> | Response;
const handlers = { template, check, score } as unknown as Record<string, Handler>;

/** Sends a request to one of the batch endpoints as `role`, through the route guard. */
async function call(
	action: 'template' | 'check' | 'score',
	role: Role | null,
	options: {
		model?: string;
		body?: unknown;
		raw?: string;
		headers?: Record<string, string>;
		query?: string;
	} = {}
): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
	const model = options.model ?? 'lending-club';
	const url = new URL(`http://portal.test/batch/${model}/${action}${options.query ?? ''}`);
	const body =
		action === 'template'
			? undefined
			: (options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)));
	const request = new Request(url, {
		method: action === 'template' ? 'GET' : 'POST',
		headers: { 'content-type': 'application/json', origin: url.origin, ...options.headers },
		body
	});
	const event = {
		request,
		url,
		params: { model },
		route: { id: `/batch/[model]/${action}` },
		locals: {
			// What the first hook puts there: the process core this file installed.
			core: await (globalThis as Record<symbol, Promise<Core> | undefined>)[CORE_KEY],
			requestId: `test-${Math.random().toString(36).slice(2)}`,
			principal: role ? { kind: 'user', id: `${role}-1`, name: role, role } : null,
			session: null,
			user: null,
			authStage: role ? 'active' : null
		},
		isDataRequest: false,
		getClientAddress: () => '127.0.0.1'
	} as unknown as RequestEvent;
	const handler = handlers[action];
	if (!handler) throw new Error(`no handler ${action}`);
	const response = await guardRoutes({ event, resolve: (e) => Promise.resolve(handler(e)) });
	const text = await response.text();
	let json: unknown = null;
	try {
		json = JSON.parse(text);
	} catch {
		json = null;
	}
	return { status: response.status, json, text, headers: response.headers };
}

interface CheckAnswer {
	rows: number;
	valid: number;
	errors: { row: number; field: string; messages: string[] }[];
}
interface ScoreAnswer {
	batchId: string;
	results: {
		row: number;
		ok: boolean;
		predictionId: string;
		decision: string;
		reasons: { code: string }[];
	}[];
}
interface Problem {
	error: { code: string; fieldErrors?: Record<string, string[]> };
}

describe.each(testDatabaseKinds())('batch scoring endpoints on %s', (kind) => {
	let t: TestCore;

	beforeAll(async () => {
		t = await startTestCore(kind);
		// The endpoints use the process's core, as in production: make it this test core.
		(globalThis as Record<symbol, Promise<Core> | undefined>)[CORE_KEY] = Promise.resolve(t.core);
	});
	afterAll(async () => {
		delete (globalThis as Record<symbol, unknown>)[CORE_KEY];
		await t.dispose();
	});

	it('should offer a CSV template whose header is the feature list and whose example row is valid', async () => {
		const answer = await call('template', 'risk_manager');
		expect(answer.status).toBe(200);
		expect(answer.headers.get('content-type')).toMatch(/^text\/csv/);
		expect(answer.headers.get('content-disposition')).toContain('lending-club-xgb-1.0.0-template.csv');
		const parsed = Papa.parse<string[]>(answer.text.trim());
		const [header, example] = parsed.data;
		expect(header).toEqual(t.core.models.resolve('lending-club').manifest.features.map((f) => f.name));
		const checked = await call('check', 'risk_manager', {
			body: { columns: header, rows: [example] }
		});
		expect((checked.json as CheckAnswer).errors).toEqual([]);
		expect((await call('template', 'risk_manager', { model: 'no-such-model' })).status).toBe(404);
		expect((await call('template', 'risk_manager', { query: '?version=nope' })).status).toBe(404);
	});

	it('should report every bad cell with its row and field, and score nothing while checking', async () => {
		const before = await countPredictions(t.core.db);
		const income = columns.indexOf('annual_inc');
		const term = columns.indexOf('term');
		const rows = goodRows.slice(0, 5).map((row) => [...row]);
		rows[1]![income] = 'lots';
		rows[3]![term] = 'term_99';
		rows[3]![income] = '-5';
		rows.push(['1', '2']);
		const answer = await call('check', 'risk_manager', { body: { columns, rows, firstRow: 101 } });
		expect(answer.status).toBe(200);
		const body = answer.json as CheckAnswer;
		expect(body).toMatchObject({ rows: 6, valid: 3 });
		expect(body.errors.map((e) => [e.row, e.field])).toEqual([
			[102, 'annual_inc'],
			[104, 'term'],
			[104, 'annual_inc'],
			[106, '_root']
		]);
		expect(body.errors[0]?.messages.join(' ')).toContain('Annual income must be a number');
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should refuse a header that lacks a required feature or repeats a column, naming the columns', async () => {
		const answer = await call('check', 'risk_manager', {
			body: { columns: [...columns.slice(1), columns[1], ''], rows: [goodRows[0]] }
		});
		expect(answer.status).toBe(400);
		const messages = (answer.json as Problem).error.fieldErrors?.columns?.join(' ') ?? '';
		expect(messages).toContain(`Missing column(s): ${columns[0]}`);
		expect(messages).toContain(`Column(s) given twice: ${columns[1]}`);
		expect(messages).toContain('A column has no name');
		const twoReferences = await call('check', 'risk_manager', {
			body: { columns: [...columns, 'applicationId', 'application_id'], rows: [[...goodRows[0]!, 'a', 'b']] }
		});
		expect((twoReferences.json as Problem).error.fieldErrors?.columns?.join(' ')).toContain(
			'Give the application reference once'
		);
	});

	it('should record an applicationId column as the reference and pass other extra columns through', async () => {
		const header = ['applicationId', ...columns, 'addr_state'];
		const rows = goodRows.slice(0, 3).map((row, i) => [`LOAN-${kind}-${i}`, ...row, 'CA']);
		rows[1]![0] = '';
		const checked = await call('check', 'risk_manager', { body: { columns: header, rows } });
		expect(checked.status).toBe(200);
		expect(checked.json).toMatchObject({ valid: 3, errors: [], passedThrough: ['addr_state'] });

		// As an administrator: the 10,000-row test below counts the risk manager's batch rows.
		const scored = await call('score', 'admin', { body: { columns: header, rows } });
		expect(scored.status).toBe(200);
		const ids = (scored.json as ScoreAnswer).results.map((r) => r.predictionId);
		const stored = await t.core.db
			.select({ id: predictions.id, applicationId: predictions.applicationId, input: predictions.input })
			.from(predictions)
			.where(inArray(predictions.id, ids));
		const byId = new Map(stored.map((row) => [row.id, row]));
		expect(ids.map((id) => byId.get(id)?.applicationId)).toEqual([`LOAN-${kind}-0`, null, `LOAN-${kind}-2`]);
		// Extra columns are not model inputs: nothing but the features is recorded.
		expect(Object.keys(byId.get(ids[0]!)?.input ?? {})).toEqual(columns);

		const bad = [[`bad id with spaces`, ...goodRows[0]!, 'CA']];
		const refused = await call('check', 'risk_manager', { body: { columns: header, rows: bad } });
		expect((refused.json as CheckAnswer).errors).toEqual([
			{ row: 1, field: 'applicationId', messages: [expect.stringContaining('letters, digits')] }
		]);
	});

	it('should refuse malformed requests with a field-level 4xx, never a 500', async () => {
		const bad: [Parameters<typeof call>[2], number, string][] = [
			[{ raw: '{not json' }, 400, '_root'],
			[{ raw: '[1,2]' }, 400, '_root'],
			[{ body: { columns, rows: [] } }, 400, 'rows'],
			[
				{ body: { columns, rows: Array.from({ length: MAX_CHUNK_ROWS + 1 }, () => goodRows[0]) } },
				400,
				'rows'
			],
			[{ body: { columns, rows: [goodRows[0]], extra: 1 } }, 400, '_root'],
			[{ body: { columns: 'annual_inc', rows: [goodRows[0]] } }, 400, 'columns']
		];
		for (const [options, status, field] of bad) {
			for (const action of ['check', 'score'] as const) {
				const answer = await call(action, 'risk_manager', options);
				expect(answer.status, `${action} ${JSON.stringify(options).slice(0, 60)}`).toBe(status);
				expect(Object.keys((answer.json as Problem).error.fieldErrors ?? {})).toContain(field);
			}
		}
		const text = await call('check', 'risk_manager', { raw: 'a,b', headers: { 'content-type': 'text/csv' } });
		expect(text.status).toBe(415);
		const unknown = await call('score', 'risk_manager', {
			model: 'nope',
			body: { columns, rows: [goodRows[0]] }
		});
		expect(unknown.status).toBe(404);
		const crossSite = await call('score', 'risk_manager', {
			body: { columns, rows: [goodRows[0]] },
			headers: { origin: 'https://attacker.example' }
		});
		expect(crossSite.status).toBe(403);
	});

	it('should refuse a chunk to score with any bad row: 400 with fields keyed by row', async () => {
		const before = await countPredictions(t.core.db);
		const rows = goodRows.slice(0, 3).map((row) => [...row]);
		rows[2]![columns.indexOf('int_rate')] = '99';
		const answer = await call('score', 'risk_manager', { body: { columns, rows, firstRow: 7 } });
		expect(answer.status).toBe(400);
		expect((answer.json as Problem).error.fieldErrors).toEqual({
			'rows.9.int_rate': ['Interest rate must be at most 40 %']
		});
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should let only risk managers and administrators use the batch endpoints', async () => {
		for (const action of ['template', 'check', 'score'] as const) {
			const body = { columns, rows: [goodRows[0]] };
			for (const role of ['viewer', 'executive', 'scorer'] as const)
				expect((await call(action, role, { body })).status, `${action} as ${role}`).toBe(403);
			expect((await call(action, null, { body })).status).toBe(401);
			expect((await call(action, 'admin', { body })).status).toBe(200);
		}
	});

	it('should score a 10,000-row file sent in chunks, as the page does, and record every row', async () => {
		const before = await countPredictions(t.core.db);
		const file = Array.from({ length: MAX_FILE_ROWS }, (_, i) => goodRows[i % goodRows.length] ?? []);
		const decisions = new Map<number, string>();
		for (let first = 0; first < file.length; first += MAX_CHUNK_ROWS) {
			const rows = file.slice(first, first + MAX_CHUNK_ROWS);
			const checked = await call('check', 'risk_manager', { body: { columns, rows, firstRow: first + 1 } });
			expect((checked.json as CheckAnswer).errors).toEqual([]);
			const answer = await call('score', 'risk_manager', { body: { columns, rows, firstRow: first + 1 } });
			expect(answer.status).toBe(200);
			for (const result of (answer.json as ScoreAnswer).results) {
				expect(result.ok).toBe(true);
				decisions.set(result.row, result.decision);
			}
		}
		expect(decisions.size).toBe(MAX_FILE_ROWS);
		expect([...decisions.keys()].sort((a, b) => a - b)).toEqual(file.map((_, i) => i + 1));
		expect(await countPredictions(t.core.db)).toBe(before + MAX_FILE_ROWS);
		// The same applicant gets the same decision wherever it sits in the file.
		expect(decisions.get(1)).toBe(decisions.get(1 + goodRows.length));
		// Recorded as batch decisions of the person who uploaded the file.
		const [recorded] = await t.core.db
			.select({ n: count() })
			.from(predictions)
			.where(and(eq(predictions.channel, 'batch'), eq(predictions.requester, 'user:risk_manager-1')));
		expect(recorded?.n).toBe(MAX_FILE_ROWS);
	}, 240_000);
});
