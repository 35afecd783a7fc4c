/**
 * The history of decisions on a real database: filters, keyset pagination that neither skips nor
 * repeats rows written in the same instant, field-level refusals, and the detail of a prediction
 * whose model version is no longer loaded.
 */
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictions, serviceAccounts, type NewPrediction } from '$lib/server/db/schema';
import { ValidationFailed } from '$lib/server/errors';
import Papa from 'papaparse';
import { and, eq } from 'drizzle-orm';
import { auditLog } from '$lib/server/db/schema';
import {
	countPredictions,
	listPredictions,
	parseHistoryQuery,
	type HistoryQuery
} from '$lib/server/services/history.service';
import * as exportRoute from '../../src/routes/history/export.csv/+server';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import { encodeShap } from '$lib/server/services/stored-shap';
import { createCaller } from '$lib/server/trpc/root';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { makeUser } from '../helpers/people';

const golden = goldenRows('lending-club/xgb-1.0.0');

/** A stored prediction as the writer would record it (a tiny real row, not a scoring run). */
function storedPrediction(overrides: Partial<NewPrediction> = {}): NewPrediction {
	return {
		id: randomUUID(),
		createdAt: new Date('2025-03-10T12:00:00.000Z'),
		modelId: 'lending-club',
		modelVersion: 'xgb-1.0.0',
		requestId: `req-${randomUUID()}`,
		requester: 'user:nobody',
		channel: 'portal',
		input: golden[0]?.raw ?? {},
		probability: 0.05,
		margin: Math.log(0.05 / 0.95),
		points: 610,
		band: 'C',
		decision: 'approve',
		reasons: [{ feature: 'annual_inc', code: 'LC06', text: 'Income is low', contribution: 0.14 }],
		shapValues: encodeShap(Object.keys(golden[0]?.raw ?? {}).map((feature) => golden[0]?.shap[feature] ?? 0)),
		baseValue: golden[0]?.baseValue ?? null,
		latencyMs: 1.5,
		...overrides
	};
}

describe.each(testDatabaseKinds())('history on %s', (kind) => {
	let t: TestCore;
	let analyst: { id: string; email: string };
	const list = (query: HistoryQuery) => listPredictions(t.core.db, parseHistoryQuery(query));

	beforeAll(async () => {
		t = await startTestCore(kind);
		analyst = await makeUser(t.core.db, { role: 'risk_manager' });
		const [account] = await t.core.db
			.insert(serviceAccounts)
			.values({ name: 'loan-origination', clientId: 'svc_history', secretHash: 'x', createdBy: 'system:cli' })
			.returning();
		const sameInstant = new Date('2025-03-10T12:00:00.123Z');
		await t.core.db.insert(predictions).values([
			// 30 rows in the very same millisecond: pagination must still see each once.
			...Array.from({ length: 30 }, (_, i) =>
				storedPrediction({
					createdAt: sameInstant,
					requester: `user:${analyst.id}`,
					decision: i % 3 === 0 ? 'decline' : 'approve',
					band: i % 3 === 0 ? 'E' : 'B'
				})
			),
			storedPrediction({
				createdAt: new Date('2025-03-01T08:00:00Z'),
				requester: `service:${account?.id ?? ''}`,
				channel: 'api',
				requestId: 'application-2025-0042',
				decision: 'review',
				band: 'D'
			}),
			storedPrediction({
				createdAt: new Date('2025-02-01T08:00:00Z'),
				modelId: 'consumer-credit',
				modelVersion: 'xgb-1.0.0',
				decision: 'review',
				band: 'D'
			})
		]);
	});
	afterAll(async () => {
		await t.dispose();
	});

	it('should page through every decision newest first, once each, even when they share an instant', async () => {
		const seen: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await list({ limit: 7, cursor });
			seen.push(...page.rows.map((row) => row.id));
			cursor = page.nextCursor ?? undefined;
		} while (cursor);
		expect(seen).toHaveLength(32);
		expect(new Set(seen).size).toBe(32);
		const all = (await list({ limit: 200 })).rows;
		expect(all.map((row) => row.id)).toEqual(seen);
		expect(all.at(-1)?.modelId).toBe('consumer-credit');
	});

	it('should filter by decision, band, model and version, and dates with an inclusive end day', async () => {
		expect((await list({ decision: 'decline' })).rows).toHaveLength(10);
		expect((await list({ band: 'D' })).rows).toHaveLength(2);
		expect((await list({ model: 'consumer-credit' })).rows).toHaveLength(1);
		expect((await list({ model: 'lending-club', version: 'xgb-1.0.0' })).rows).toHaveLength(31);
		expect((await list({ model: 'lending-club', version: 'scorecard-1.0.0' })).rows).toHaveLength(0);
		expect((await list({ from: '2025-03-01', to: '2025-03-01' })).rows).toHaveLength(1);
		expect((await list({ from: '2025-03-02' })).rows).toHaveLength(30);
		expect((await list({ to: '2025-02-28' })).rows).toHaveLength(1);
		expect((await list({ decision: 'review', from: '2025-02-15' })).rows).toHaveLength(1);
	});

	it('should find a requester by e-mail or service account name and show their names', async () => {
		const mine = await list({ requester: analyst.email.toUpperCase(), limit: 200 });
		expect(mine.rows).toHaveLength(30);
		expect(mine.rows[0]?.requesterName).toMatch(/^Person /);
		const service = await list({ requester: 'loan-origination' });
		expect(service.rows).toHaveLength(1);
		expect(service.rows[0]).toMatchObject({ requesterName: 'loan-origination', channel: 'api' });
	});

	it('should find requesters by part of a name or e-mail, in any case', async () => {
		const byPart = await list({ requester: analyst.email.slice(1, 8).toUpperCase(), limit: 200 });
		expect(byPart.rows).toHaveLength(30);
		expect((await list({ requester: 'ORIGINATION' })).rows).toHaveLength(1);
		// LIKE's wildcards are letters here: "%" matches no one.
		await expect(list({ requester: '%' })).rejects.toMatchObject({
			fieldErrors: { requester: [expect.stringContaining('No person or service account matches')] }
		});
	});

	it('should count the decisions matching the filters', async () => {
		const count = (query: HistoryQuery) => countPredictions(t.core.db, parseHistoryQuery(query));
		expect(await count({})).toEqual({ total: 32, capped: false });
		expect(await count({ decision: 'decline' })).toEqual({ total: 10, capped: false });
		expect(await count({ requester: 'loan-origination' })).toEqual({ total: 1, capped: false });
		const caller = createCaller(t.context('risk_manager'));
		expect(await caller.history.count({ model: 'consumer-credit' })).toEqual({ total: 1, capped: false });
		await expect(createCaller(t.context('scorer')).history.count({})).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
	});

	it('should export the matching decisions as CSV, newest first, audited', async () => {
		const restore = useAsProcessCore(t.core);
		try {
			const event = pageEvent({
				role: 'risk_manager',
				url: '/history/export.csv?decision=decline&model=lending-club',
				routeId: '/history/export.csv'
			});
			const response = await exportRoute.GET(event as never);
			expect(response.status).toBe(200);
			expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
			expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="credible-history-/);
			const parsed = Papa.parse<Record<string, string>>(await response.text(), {
				header: true,
				skipEmptyLines: true
			});
			expect(parsed.errors).toEqual([]);
			expect(parsed.data).toHaveLength(10);
			expect(parsed.data.every((row) => row.decision === 'decline' && row.model === 'lending-club')).toBe(
				true
			);
			expect(parsed.data[0]).toMatchObject({
				band: 'E',
				reason_codes: 'LC06',
				requester: `user:${analyst.id}`
			});
			const [entry] = await t.core.db
				.select()
				.from(auditLog)
				.where(and(eq(auditLog.action, 'data.export'), eq(auditLog.targetType, 'history')));
			expect(entry?.details).toMatchObject({ export: 'history', filters: { decision: 'decline' } });

			const refused = await exportRoute.GET(
				pageEvent({
					role: 'risk_manager',
					url: '/history/export.csv?requester=nobody-at-all&to=9999-12-31',
					routeId: '/history/export.csv'
				}) as never
			);
			expect(refused.status).toBe(400);
			const body = (await refused.json()) as { error: { fieldErrors: Record<string, string[]> } };
			expect(Object.keys(body.error.fieldErrors).sort()).toEqual(['to']);
		} finally {
			restore();
		}
	});

	it('should find a decision by its request id or prediction id', async () => {
		const [byRequest] = (await list({ q: 'application-2025-0042' })).rows;
		expect(byRequest?.decision).toBe('review');
		const byId = await list({ q: byRequest?.id.toUpperCase() ?? '' });
		expect(byId.rows.map((row) => row.id)).toEqual([byRequest?.id]);
		expect((await list({ q: 'no-such-request' })).rows).toHaveLength(0);
	});

	it('should refuse bad filters with a message per field, never a crash', async () => {
		const refused = async (query: Record<string, string>) => {
			try {
				await list(query);
			} catch (error) {
				expect(error).toBeInstanceOf(ValidationFailed);
				return (error as ValidationFailed).fieldErrors;
			}
			throw new Error('expected a refusal');
		};
		expect(await refused({ from: '2025-13-45' })).toHaveProperty('from');
		expect(await refused({ from: '2025-03-02', to: '2025-03-01' })).toHaveProperty('to');
		expect(await refused({ decision: 'maybe' })).toHaveProperty('decision');
		expect(await refused({ band: "E' or 1=1" })).toHaveProperty('band');
		expect(await refused({ version: 'xgb-1.0.0' })).toHaveProperty('model');
		expect(await refused({ q: 'a b' })).toHaveProperty('q');
		expect(await refused({ requester: 'nobody@example.com' })).toHaveProperty('requester');
		expect(await refused({ requester: 'no-such-service' })).toHaveProperty('requester');
		expect(await refused({ cursor: 'forged' })).toHaveProperty('cursor');
	});

	it('should let only risk managers and administrators read the history', async () => {
		for (const role of ['viewer', 'executive', 'scorer'] as const) {
			const error = await createCaller(t.context(role))
				.history.list({})
				.catch((e: unknown) => e);
			expect(error).toBeInstanceOf(TRPCError);
			expect((error as TRPCError).code).toBe('FORBIDDEN');
		}
		const page = await createCaller(t.context('risk_manager')).history.list({ decision: 'review' });
		expect(page.rows).toHaveLength(2);
	});

	it('should show a scored decision in full: labelled inputs, reasons and SHAP that add up', async () => {
		const caller = createCaller(t.context('risk_manager', analyst.id));
		const scored = await caller.scoring.score({ model: 'lending-club', applicant: golden[1]?.raw ?? {} });
		const detail = await caller.history.get({ id: scored.predictionId });
		expect(detail).toMatchObject({
			id: scored.predictionId,
			decision: scored.decision,
			points: scored.points,
			band: { name: scored.band.name, label: scored.band.label },
			model: { id: 'lending-club', version: 'xgb-1.0.0', loaded: true },
			requesterName: expect.stringMatching(/^Person /) as unknown
		});
		expect(detail.cutoffs?.approveBelow).toBeGreaterThan(0);
		const income = detail.inputs.find((input) => input.name === 'annual_inc');
		expect(income).toMatchObject({ label: 'Annual income', unit: 'USD' });
		const term = detail.inputs.find((input) => input.name === 'term');
		expect(term?.display).toMatch(/months$/);
		const explanation = detail.explanation;
		expect(explanation).not.toBeNull();
		const total = (explanation?.contributions ?? []).reduce(
			(sum, c) => sum + c.shap,
			explanation?.baseValue ?? 0
		);
		expect(total).toBeCloseTo(explanation?.margin ?? NaN, 4);
		const strengths = (explanation?.contributions ?? []).map((c) => Math.abs(c.shap));
		expect(strengths).toEqual([...strengths].sort((a, b) => b - a));
		expect(detail.reasons.map((r) => r.code)).toEqual(scored.reasons.map((r) => r.code));
	});

	it('should still show a decision of a model version that is no longer loaded', async () => {
		const retired = storedPrediction({
			modelVersion: 'xgb-0.9.0',
			band: 'B',
			// Recorded before migration 0005: SHAP as a JSON object.
			shapValues: null,
			shap: { annual_inc: 0.2, term: -0.1 }
		});
		await t.core.db.insert(predictions).values(retired);
		const detail = await createCaller(t.context('admin')).history.get({ id: retired.id ?? '' });
		expect(detail.model).toEqual({ id: 'lending-club', version: 'xgb-0.9.0', name: null, loaded: false });
		expect(detail.band).toEqual({ name: 'B', label: null });
		expect(detail.cutoffs).toBeNull();
		expect(detail.inputs.find((input) => input.name === 'annual_inc')).toMatchObject({
			label: 'annual_inc',
			unit: null
		});
		expect(detail.explanation?.contributions.map((c) => c.feature)).toEqual(['annual_inc', 'term']);
	});

	it('should answer 404 for an unknown or malformed prediction id', async () => {
		const caller = createCaller(t.context('risk_manager'));
		for (const id of [randomUUID(), 'not-a-uuid']) {
			const error = await caller.history.get({ id }).catch((e: unknown) => e);
			expect((error as TRPCError).code).toBe('NOT_FOUND');
		}
	});
});
