/**
 * Outcomes on a real database: what happened to scored applications, linked by prediction id or
 * application reference, idempotent per prediction, corrected as new audited versions, append-only
 * down to the database; bad rows are reported one by one and bad calls are field-level 4xx; a
 * scoring service sees only its own predictions; 10,000 rows go in one call.
 */
import { randomUUID } from 'node:crypto';
import type { RequestEvent } from '@sveltejs/kit';
import Papa from 'papaparse';
import { TRPCError } from '@trpc/server';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardRoutes } from '$lib/server/auth/handles';
import { auditLog, outcomes, predictions, type NewPrediction, type Role } from '$lib/server/db/schema';
import { getPrediction } from '$lib/server/services/history.service';
import type { RecordOutcomesResult } from '$lib/server/services/outcomes.service';
import { createCaller } from '$lib/server/trpc/root';
import { apiClient, serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { startFastPathServer } from '../helpers/fast-path';
import { goldenRows } from '../helpers/golden';
import { POST as checkChunk } from '../../src/routes/outcomes/check/+server';
import { POST as recordChunk } from '../../src/routes/outcomes/record/+server';
import { GET as template } from '../../src/routes/outcomes/template/+server';
import { mapColumns, outcomeOf } from '../../src/routes/outcomes/outcome-file';

const golden = goldenRows('lending-club/xgb-1.0.0');

function stored(createdAt: string, extra: Partial<NewPrediction> = {}): NewPrediction {
	return {
		id: randomUUID(),
		createdAt: new Date(createdAt),
		modelId: 'lending-club',
		modelVersion: 'xgb-1.0.0',
		requestId: `req-${randomUUID()}`,
		requester: 'service:origination',
		channel: 'api',
		input: golden[0]?.raw ?? {},
		probability: 0.08,
		margin: 0,
		points: 600,
		band: 'C',
		decision: 'approve',
		reasons: [],
		latencyMs: 1,
		...extra
	};
}

type Outcome = Record<string, unknown>;
const outcome = (predictionId: string, extra: Outcome = {}): Outcome => ({
	predictionId,
	defaulted: false,
	observedAt: '2025-12-31',
	...extra
});

/** Posts a chunk of an upload to the portal's endpoint as the page does, through the route guard. */
async function postChunk(
	core: TestCore['core'],
	role: Role,
	body: unknown,
	action: 'check' | 'record' = 'record'
) {
	const url = new URL(`http://portal.test/outcomes/${action}`);
	const event = {
		request: new Request(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json', origin: url.origin },
			body: JSON.stringify(body)
		}),
		url,
		params: {},
		route: { id: `/outcomes/${action}` },
		locals: {
			core,
			requestId: `test-${randomUUID()}`,
			principal: { kind: 'user', id: `${role}-1`, name: role, role },
			session: null,
			user: null,
			authStage: 'active'
		},
		isDataRequest: false,
		getClientAddress: () => '127.0.0.1'
	} as unknown as RequestEvent;
	const handler = action === 'check' ? checkChunk : recordChunk;
	const response = await guardRoutes({ event, resolve: (e) => Promise.resolve(handler(e as never)) });
	return { status: response.status, json: (await response.json().catch(() => null)) as unknown };
}

describe.each(testDatabaseKinds())('outcomes on %s', (kind) => {
	let t: TestCore;
	const rows = {
		first: stored('2025-06-02T10:00:00Z'),
		corrected: stored('2025-06-03T10:00:00Z'),
		byReference: stored('2025-06-04T10:00:00Z', { applicationId: 'LOS-2025-0001' }),
		twinA: stored('2025-06-05T10:00:00Z', { applicationId: 'LOS-2025-TWIN' }),
		twinB: stored('2025-06-06T10:00:00Z', { applicationId: 'LOS-2025-TWIN' }),
		checks: stored('2025-06-07T23:30:00Z'),
		raced: stored('2025-06-08T10:00:00Z'),
		frozen: stored('2025-06-09T10:00:00Z'),
		uploaded: stored('2025-06-10T10:00:00Z', { applicationId: 'LOS-2025-CSV' })
	};
	const manager = () => createCaller(t.context('risk_manager', 'rm-1'));
	const versionsOf = (predictionId: string) =>
		t.core.db
			.select({ version: outcomes.version, defaulted: outcomes.defaulted })
			.from(outcomes)
			.where(eq(outcomes.predictionId, predictionId))
			.orderBy(outcomes.version);
	const total = async () => (await t.core.db.select({ id: outcomes.id }).from(outcomes)).length;

	beforeAll(async () => {
		t = await startTestCore(kind);
		await t.core.db.insert(predictions).values(Object.values(rows));
	});
	afterAll(async () => {
		await t.dispose();
	});

	it('should record an outcome once, answer a repeat as unchanged and show it in the history', async () => {
		const first = await manager().outcomes.record({
			outcomes: [outcome(rows.first.id, { defaulted: true, lossAmount: 1234.5 })]
		});
		expect(first).toEqual({
			counts: { recorded: 1, corrected: 0, unchanged: 0, rejected: 0 },
			results: [{ index: 0, predictionId: rows.first.id, status: 'recorded', version: 1 }]
		});
		const again = await manager().outcomes.record({
			outcomes: [outcome(rows.first.id, { defaulted: true, lossAmount: 1234.5, note: 'resent' })]
		});
		expect(again.results).toEqual([
			{ index: 0, predictionId: rows.first.id, status: 'unchanged', version: 1 }
		]);
		expect(await versionsOf(rows.first.id)).toEqual([{ version: 1, defaulted: true }]);
		const detail = await getPrediction(t.core.db, t.core.models, rows.first.id);
		expect(detail.outcomes).toMatchObject([
			{
				version: 1,
				defaulted: true,
				observedAt: '2025-12-31',
				lossAmount: 1234.5,
				source: 'api',
				recordedBy: 'user:rm-1'
			}
		]);
	});

	it('should append a correction as a new version, and list it in the call audit entry', async () => {
		await manager().outcomes.record({ outcomes: [outcome(rows.corrected.id)] });
		const corrected = await manager().outcomes.record({
			outcomes: [
				outcome(rows.corrected.id, {
					defaulted: true,
					observedAt: '2025-11-15',
					lossAmount: 800,
					note: 'Servicer reported the default late.'
				})
			],
			source: 'csv'
		});
		expect(corrected.counts).toEqual({ recorded: 0, corrected: 1, unchanged: 0, rejected: 0 });
		expect(corrected.results[0]).toMatchObject({ status: 'corrected', version: 2 });
		const trail = await manager().outcomes.list({ predictionId: rows.corrected.id });
		expect(trail.map((v) => [v.version, v.defaulted, v.lossAmount, v.source, v.note])).toEqual([
			[1, false, null, 'api', null],
			[2, true, 800, 'csv', 'Servicer reported the default late.']
		]);
		const entries = await t.core.db
			.select({ details: auditLog.details })
			.from(auditLog)
			.where(and(eq(auditLog.action, 'outcome.record'), eq(auditLog.targetId, rows.corrected.id)));
		expect(entries.at(-1)?.details).toMatchObject({
			source: 'csv',
			rows: 1,
			corrected: 1,
			corrections: [
				{
					predictionId: rows.corrected.id,
					version: 2,
					from: { defaulted: false, observedAt: '2025-12-31', lossAmount: null },
					to: { defaulted: true, observedAt: '2025-11-15', lossAmount: 800 }
				}
			]
		});
	});

	it('should resolve an application reference, and report unknown and ambiguous ones per row', async () => {
		const before = await total();
		const answer = await manager().outcomes.record({
			outcomes: [
				{ applicationId: 'LOS-2025-0001', defaulted: false, observedAt: '2025-12-01' },
				{ applicationId: 'LOS-2025-TWIN', defaulted: false, observedAt: '2025-12-01' },
				{ applicationId: 'LOS-NOWHERE', defaulted: false, observedAt: '2025-12-01' },
				outcome(randomUUID())
			]
		});
		expect(answer.counts).toEqual({ recorded: 1, corrected: 0, unchanged: 0, rejected: 3 });
		expect(answer.results[0]).toEqual({
			index: 0,
			predictionId: rows.byReference.id,
			applicationId: 'LOS-2025-0001',
			status: 'recorded',
			version: 1
		});
		expect(answer.results.slice(1).map((r) => [r.index, r.status, r.error?.code])).toEqual([
			[1, 'rejected', 'ambiguous'],
			[2, 'rejected', 'not_found'],
			[3, 'rejected', 'not_found']
		]);
		expect(answer.results[1]?.error?.message).toMatch(/2 predictions .* predictionId/);
		expect(await total()).toBe(before + 1);
	});

	it('should reject, row by row and field by field, a bad day, a negative loss and a malformed row', async () => {
		const before = await total();
		const answer = await manager().outcomes.record({
			outcomes: [
				outcome(rows.checks.id, { observedAt: '2999-01-01' }),
				// Decided 2025-06-07 23:30 UTC: the 7th is still the decision's day west of UTC.
				outcome(rows.checks.id, { observedAt: '2025-06-06' }),
				outcome(rows.checks.id, { lossAmount: -5, defaulted: true }),
				outcome(rows.checks.id, { observedAt: '2025-02-30' }),
				outcome(rows.checks.id, { lossAmount: 100 }),
				{ ...outcome(rows.checks.id), applicationId: 'LOS-2025-0001' },
				{ defaulted: 'yes', observedAt: '2025-12-01' },
				'not an object',
				outcome(rows.checks.id, { observedAt: '2025-06-07', note: 'last row is fine' })
			]
		});
		const errors = answer.results.map((r) => r.error?.fieldErrors);
		expect(errors.slice(0, 8).map((e) => Object.keys(e ?? {}).sort())).toEqual([
			['observedAt'],
			['observedAt'],
			['lossAmount'],
			['observedAt'],
			['lossAmount'],
			['predictionId'],
			['defaulted', 'predictionId'],
			['_root']
		]);
		expect(errors[0]?.observedAt).toEqual(['Cannot be in the future.']);
		expect(errors[1]?.observedAt?.[0]).toMatch(/before the decision \(2025-06-07\)/);
		expect(answer.counts).toEqual({ recorded: 1, corrected: 0, unchanged: 0, rejected: 8 });
		expect(answer.results[8]).toMatchObject({ status: 'recorded', version: 1 });
		expect(await total()).toBe(before + 1);
	});

	it('should refuse a call of more than 10,000 rows, or none, with a field-level 400 and write nothing', async () => {
		const before = await total();
		const refusal = async (input: unknown) => {
			const error = await manager()
				.outcomes.record(input as never)
				.catch((e: unknown) => e);
			expect(error).toBeInstanceOf(TRPCError);
			return error as TRPCError;
		};
		const tooMany = await refusal({
			outcomes: Array.from({ length: 10_001 }, () => outcome(rows.frozen.id))
		});
		expect(tooMany.code).toBe('BAD_REQUEST');
		expect((await refusal({ outcomes: [] })).code).toBe('BAD_REQUEST');
		expect((await refusal({ outcomes: [outcome(rows.frozen.id)], source: 'fax' })).code).toBe('BAD_REQUEST');

		const rest = await apiClient(t.core)({
			method: 'POST',
			path: '/outcomes',
			token: await serviceToken(t.core, `desk-${kind}`, 'risk_manager'),
			body: { outcomes: Array.from({ length: 10_001 }, () => outcome(rows.frozen.id)) }
		});
		expect(rest.status).toBe(400);
		expect(Object.keys((rest.json as { error: { fieldErrors: object } }).error.fieldErrors)).toEqual([
			'outcomes'
		]);
		expect(await total()).toBe(before);
	});

	it('should settle concurrent calls on the same prediction as consecutive versions', async () => {
		const calls = await Promise.all([
			manager().outcomes.record({ outcomes: [outcome(rows.raced.id, { defaulted: false })] }),
			manager().outcomes.record({ outcomes: [outcome(rows.raced.id, { defaulted: true })] })
		]);
		expect(calls.map((c) => c.results[0]?.version).sort()).toEqual([1, 2]);
		expect((await versionsOf(rows.raced.id)).map((v) => v.version)).toEqual([1, 2]);
	});

	it('should keep outcomes append-only down to the database', async () => {
		await manager().outcomes.record({ outcomes: [outcome(rows.frozen.id)] });
		const refusal = (query: ReturnType<typeof sql>) =>
			t.core.db.execute(query).then(
				() => 'accepted',
				(e: unknown) => String((e as { cause?: unknown }).cause ?? e)
			);
		expect(await refusal(sql`update outcomes set defaulted = true`)).toMatch(/append-only/);
		expect(await refusal(sql`delete from outcomes`)).toMatch(/append-only/);
		expect(await versionsOf(rows.frozen.id)).toEqual([{ version: 1, defaulted: false }]);
	});

	it('should let a scoring service record outcomes of its own predictions only, over REST', async () => {
		const call = apiClient(t.core);
		const token = await serviceToken(t.core, `origination-${kind}`, 'scorer');
		const scored = await call({
			method: 'POST',
			path: '/models/lending-club/score',
			token,
			body: { applicant: golden[0]?.raw, applicationId: `OWN-${kind}` }
		});
		expect(scored.status).toBe(200);
		const own = (scored.json as { predictionId: string }).predictionId;
		const today = new Date().toISOString().slice(0, 10);

		const answer = await call({
			method: 'POST',
			path: '/outcomes',
			token,
			body: {
				outcomes: [
					{ applicationId: `OWN-${kind}`, defaulted: true, observedAt: today, lossAmount: 99.999 },
					outcome(rows.frozen.id, { defaulted: true }),
					{ applicationId: 'LOS-2025-0001', defaulted: true, observedAt: '2025-12-01' }
				]
			}
		});
		expect(answer.status).toBe(200);
		const body = answer.json as { counts: object; results: { status: string; error?: { code: string } }[] };
		expect(body.counts).toEqual({ recorded: 1, corrected: 0, unchanged: 0, rejected: 2 });
		expect(body.results.map((r) => r.error?.code)).toEqual([undefined, 'not_found', 'not_found']);

		const listed = await call({ method: 'GET', path: `/predictions/${own}/outcomes`, token });
		expect(listed.status).toBe(200);
		const versions = listed.json as { version: number; lossAmount: number; recordedBy: string }[];
		expect(versions.map((v) => [v.version, v.lossAmount, v.recordedBy.split(':')[0]])).toEqual([
			[1, 100, 'service']
		]);
		const foreign = await call({ method: 'GET', path: `/predictions/${rows.frozen.id}/outcomes`, token });
		expect(foreign.status).toBe(404);
		expect(await versionsOf(rows.frozen.id)).toEqual([{ version: 1, defaulted: false }]);

		const viewer = await call({
			method: 'POST',
			path: '/outcomes',
			token: await serviceToken(t.core, `reports-${kind}`, 'viewer'),
			body: { outcomes: [outcome(own)] }
		});
		expect(viewer.status).toBe(403);
	});

	it('should record an uploaded CSV chunk from the portal as csv, row by row, for risk managers only', async () => {
		const text = [
			'application_id,defaulted,observed_at,loss_amount,branch',
			'LOS-2025-CSV,yes,2025-11-30,"2500.00",north',
			'LOS-2025-CSV,maybe,2025-11-30,,north',
			'LOS-NOWHERE,no,2025-11-30,,south'
		].join('\n');
		const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true });
		const [header = [], ...lines] = parsed.data;
		const map = mapColumns(header);
		if (!map.ok) throw new Error(map.message);
		expect(map.ignored).toEqual(['branch']);
		const templateFile = await template({} as never);
		expect(templateFile.headers.get('content-disposition')).toContain('outcomes-template.csv');
		expect(mapColumns((await templateFile.text()).split('\r\n')[0]?.split(',') ?? []).ok).toBe(true);
		const body = { outcomes: lines.map((cells) => outcomeOf(cells, map.fields)) };

		expect((await postChunk(t.core, 'viewer', body)).status).toBe(403);
		expect((await postChunk(t.core, 'viewer', body, 'check')).status).toBe(403);
		// The check answers what recording would, and writes nothing.
		const checked = await postChunk(t.core, 'risk_manager', body, 'check');
		expect(checked.status).toBe(200);
		const preview = checked.json as { counts: object; results: { status: string; error?: object }[] };
		expect(preview.counts).toEqual({ recorded: 1, corrected: 0, unchanged: 0, rejected: 2 });
		expect(preview.results.map((r) => r.status)).toEqual(['recorded', 'rejected', 'rejected']);
		expect(await manager().outcomes.list({ predictionId: rows.uploaded.id })).toEqual([]);

		const answer = await postChunk(t.core, 'risk_manager', body);
		expect(answer.status).toBe(200);
		const result = answer.json as { counts: object; results: { status: string; error?: object }[] };
		expect(result.counts).toEqual({ recorded: 1, corrected: 0, unchanged: 0, rejected: 2 });
		expect(result.results[1]?.error).toMatchObject({
			code: 'invalid',
			fieldErrors: { defaulted: ['Give true or false.'] }
		});
		expect(result.results[2]?.error).toMatchObject({ code: 'not_found' });
		const [version] = await manager().outcomes.list({ predictionId: rows.uploaded.id });
		expect(version).toMatchObject({ source: 'csv', defaulted: true, lossAmount: 2500 });

		// Checked again, the recorded row is now unchanged.
		const again = (await postChunk(t.core, 'risk_manager', body, 'check')).json as { counts: object };
		expect(again.counts).toEqual({ recorded: 0, corrected: 0, unchanged: 1, rejected: 2 });

		// A malformed chunk is a 400 naming the field, on both endpoints; the page may not set the source.
		for (const action of ['check', 'record'] as const) {
			const malformed = await postChunk(t.core, 'risk_manager', { outcomes: 'all of them' }, action);
			expect(malformed).toMatchObject({
				status: 400,
				json: { error: { fieldErrors: { outcomes: [expect.any(String)] } } }
			});
			const sourced = await postChunk(t.core, 'risk_manager', { ...body, source: 'api' }, action);
			expect(sourced.status).toBe(400);
			const many = { outcomes: Array.from({ length: 1_001 }, () => body.outcomes[0]) };
			expect(await postChunk(t.core, 'risk_manager', many, action)).toMatchObject({
				status: 400,
				json: { error: { fieldErrors: { outcomes: ['At most 1,000 outcomes per chunk.'] } } }
			});
			expect((await postChunk(t.core, 'risk_manager', [], action)).status).toBe(400);
		}
	});

	it('should take 10,000 rows in one tRPC call over HTTP, and answer their repeat as unchanged', async () => {
		const many = Array.from({ length: 10_000 }, (_, i) =>
			stored('2025-05-01T10:00:00Z', { applicationId: i % 2 === 0 ? `BULK-${i}` : null })
		);
		for (let i = 0; i < many.length; i += 1_000)
			await t.core.db.insert(predictions).values(many.slice(i, i + 1_000));
		const input = {
			outcomes: many.map((p, i) =>
				p.applicationId
					? { applicationId: p.applicationId, defaulted: i % 7 === 0, observedAt: '2025-10-01' }
					: { predictionId: p.id, defaulted: i % 7 === 0, observedAt: '2025-10-01' }
			)
		};
		// Over HTTP, as a service calls tRPC: about 1 MB, past SvelteKit's body limit, through the fast path.
		const server = await startFastPathServer(t.core);
		const token = await serviceToken(t.core, `bulk-${kind}`, 'risk_manager');
		const response = await fetch(`${server.base}/trpc/outcomes.record`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: JSON.stringify(input)
		}).finally(() => server.close());
		expect(response.status).toBe(200);
		const first = ((await response.json()) as { result: { data: RecordOutcomesResult } }).result.data;
		expect(first.counts).toEqual({ recorded: 10_000, corrected: 0, unchanged: 0, rejected: 0 });
		expect(first.results.every((r, i) => r.index === i && r.predictionId === many[i]?.id)).toBe(true);
		const repeat = await manager().outcomes.record(input);
		expect(repeat.counts).toEqual({ recorded: 0, corrected: 0, unchanged: 10_000, rejected: 0 });
		const entries = await t.core.db
			.select({ details: auditLog.details })
			.from(auditLog)
			.where(eq(auditLog.action, 'outcome.record'));
		expect(entries.filter((e) => (e.details as { rows?: number }).rows === 10_000)).toHaveLength(2);
	}, 60_000);
});
