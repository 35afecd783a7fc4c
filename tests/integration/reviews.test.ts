/**
 * Human review on a real database: a final decision with its mandatory reason, recorded beside the
 * model's (never rewritten), append-only down to the database, audited, shown in the history, and
 * counted as an override rate; refusals are field-level 4xx; only risk managers and admins review.
 */
import { randomUUID } from 'node:crypto';
import { isActionFailure, type ActionFailure, type RequestEvent } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FormProblem } from '$lib/server/forms';
import { auditLog, decisionReviews, predictions, type NewPrediction } from '$lib/server/db/schema';
import { getPrediction, listPredictions, parseHistoryQuery } from '$lib/server/services/history.service';
import { createCaller } from '$lib/server/trpc/root';
import * as detailPage from '../../src/routes/history/[id]/+page.server';
import { apiClient, serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';

const golden = goldenRows('lending-club/xgb-1.0.0');

function stored(decision: NewPrediction['decision'], createdAt: string): NewPrediction {
	return {
		id: randomUUID(),
		createdAt: new Date(createdAt),
		modelId: 'lending-club',
		modelVersion: 'xgb-1.0.0',
		requestId: `req-${randomUUID()}`,
		requester: 'service:origination',
		channel: 'api',
		input: golden[0]?.raw ?? {},
		probability: decision === 'approve' ? 0.03 : decision === 'review' ? 0.12 : 0.4,
		margin: 0,
		points: 600,
		band: decision === 'approve' ? 'B' : decision === 'review' ? 'D' : 'E',
		decision,
		reasons: [],
		latencyMs: 1
	};
}

const reviewAction = (detailPage.actions as Record<'review', (event: RequestEvent) => Promise<unknown>>)
	.review;

describe.each(testDatabaseKinds())('human review on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	const window = { from: new Date('2025-06-01T00:00:00Z'), to: new Date('2025-07-01T00:00:00Z') };
	const rows = {
		approved: stored('approve', '2025-06-02T10:00:00Z'),
		declined: stored('decline', '2025-06-03T10:00:00Z'),
		referred: stored('review', '2025-06-04T10:00:00Z'),
		agreed: stored('approve', '2025-06-05T10:00:00Z'),
		untouched: [
			stored('approve', '2025-06-06T10:00:00Z'),
			stored('approve', '2025-06-07T10:00:00Z'),
			stored('decline', '2025-06-08T10:00:00Z'),
			stored('review', '2025-06-09T10:00:00Z')
		],
		outside: stored('approve', '2025-08-01T10:00:00Z')
	};
	const manager = () => createCaller(t.context('risk_manager', 'rm-1'));

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
		await t.core.db
			.insert(predictions)
			.values([rows.approved, rows.declined, rows.referred, rows.agreed, ...rows.untouched, rows.outside]);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	it('should record an override beside the model decision, audit it and show it in the history', async () => {
		const review = await manager().reviews.record({
			predictionId: rows.approved.id,
			decision: 'decline',
			reason: '  Income could not be verified with the employer.  '
		});
		expect(review).toMatchObject({
			predictionId: rows.approved.id,
			decision: 'decline',
			modelDecision: 'approve',
			overrides: true,
			reason: 'Income could not be verified with the employer.',
			reviewer: 'user:rm-1'
		});
		const [prediction] = await t.core.db
			.select({ decision: predictions.decision })
			.from(predictions)
			.where(eq(predictions.id, rows.approved.id));
		expect(prediction?.decision).toBe('approve');
		const audit = await t.core.db
			.select()
			.from(auditLog)
			.where(and(eq(auditLog.action, 'decision.review'), eq(auditLog.targetId, rows.approved.id)));
		expect(audit).toHaveLength(1);
		expect(audit[0]?.details).toMatchObject({
			modelDecision: 'approve',
			finalDecision: 'decline',
			overrides: true
		});

		const page = await listPredictions(
			t.core.db,
			parseHistoryQuery({ from: '2025-06-02', to: '2025-06-02' })
		);
		expect(page.rows.map((row) => [row.decision, row.finalDecision])).toEqual([['approve', 'decline']]);
		const detail = await getPrediction(t.core.db, t.core.models, rows.approved.id);
		expect(detail.reviews.map((r) => r.decision)).toEqual(['decline']);
	});

	it('should append a change of mind as a new review, the latest being final, and refuse edits in SQL', async () => {
		await manager().reviews.record({
			predictionId: rows.agreed.id,
			decision: 'refer',
			reason: 'Second opinion.'
		});
		await manager().reviews.record({
			predictionId: rows.agreed.id,
			decision: 'approve',
			reason: 'Confirmed.'
		});
		const trail = await manager().reviews.list({ predictionId: rows.agreed.id });
		expect(trail.map((r) => [r.decision, r.overrides])).toEqual([
			['refer', false],
			['approve', false]
		]);
		const detail = await getPrediction(t.core.db, t.core.models, rows.agreed.id);
		expect(detail.reviews.at(-1)?.decision).toBe('approve');
		const refusal = (query: ReturnType<typeof sql>) =>
			t.core.db.execute(query).then(
				() => 'accepted',
				(e: unknown) => String((e as { cause?: unknown }).cause ?? e)
			);
		expect(await refusal(sql`update decision_reviews set reason = 'rewritten'`)).toMatch(/append-only/);
		expect(await refusal(sql`delete from decision_reviews`)).toMatch(/append-only/);
		const count = await t.core.db.select({ id: decisionReviews.id }).from(decisionReviews);
		expect(count.length).toBeGreaterThanOrEqual(3);
	});

	it('should count low- and high-side overrides against the decisions the model made on its own', async () => {
		await manager().reviews.record({
			predictionId: rows.declined.id,
			decision: 'approve',
			reason: 'Collateral offered.'
		});
		await manager().reviews.record({
			predictionId: rows.referred.id,
			decision: 'approve',
			reason: 'Documents checked.'
		});
		const stats = await manager().reviews.overrides(window);
		// 8 decisions in June: 5 approve and 2 decline made by the model alone, 2 referred.
		expect(stats).toMatchObject({
			decisions: 8,
			automatic: 6,
			reviewed: 4,
			lowSide: 1,
			highSide: 1,
			referralsResolved: 1
		});
		expect(stats.overrideRate).toBeCloseTo(2 / 6, 12);
		const empty = await manager().reviews.overrides({
			from: new Date('2020-01-01T00:00:00Z'),
			to: new Date('2020-02-01T00:00:00Z')
		});
		expect(empty).toMatchObject({ decisions: 0, overrideRate: null });
	});

	it('should refuse a review without a reason, of an unknown prediction or with a bad decision (4xx)', async () => {
		const before = (await t.core.db.select({ id: decisionReviews.id }).from(decisionReviews)).length;
		const refusal = async (input: Record<string, unknown>) => {
			const error = await manager()
				.reviews.record(input as never)
				.catch((e: unknown) => e);
			expect(error).toBeInstanceOf(TRPCError);
			return error as TRPCError;
		};
		expect((await refusal({ predictionId: rows.declined.id, decision: 'approve', reason: '  ' })).code).toBe(
			'BAD_REQUEST'
		);
		expect((await refusal({ predictionId: rows.declined.id, decision: 'approve' })).code).toBe('BAD_REQUEST');
		expect(
			(await refusal({ predictionId: rows.declined.id, decision: 'maybe', reason: 'Why not.' })).code
		).toBe('BAD_REQUEST');
		expect((await refusal({ predictionId: 'not-an-id', decision: 'approve', reason: 'Why not.' })).code).toBe(
			'BAD_REQUEST'
		);
		expect(
			(await refusal({ predictionId: randomUUID(), decision: 'approve', reason: 'Why not.' })).code
		).toBe('NOT_FOUND');
		expect((await t.core.db.select({ id: decisionReviews.id }).from(decisionReviews)).length).toBe(before);
	});

	it('should let only risk managers and administrators review, over tRPC and REST', async () => {
		for (const role of ['viewer', 'executive', 'scorer'] as const) {
			const error = await createCaller(t.context(role))
				.reviews.record({ predictionId: rows.outside.id, decision: 'decline', reason: 'Not allowed.' })
				.catch((e: unknown) => e);
			expect((error as TRPCError).code).toBe('FORBIDDEN');
		}
		const call = apiClient(t.core);
		const path = `/predictions/${rows.outside.id}/reviews`;
		const scorer = await serviceToken(t.core, `origination-${kind}`, 'scorer');
		const denied = await call({
			method: 'POST',
			path,
			token: scorer,
			body: { decision: 'decline', reason: 'No.' }
		});
		expect(denied.status).toBe(403);
		const reviewer = await serviceToken(t.core, `review-desk-${kind}`, 'risk_manager');
		const bad = await call({ method: 'POST', path, token: reviewer, body: { decision: 'decline' } });
		expect(bad.status).toBe(400);
		expect(Object.keys((bad.json as { error: { fieldErrors: object } }).error.fieldErrors)).toEqual([
			'reason'
		]);
		const ok = await call({
			method: 'POST',
			path,
			token: reviewer,
			body: { decision: 'decline', reason: 'Fraud alert from the bureau.' }
		});
		expect(ok.status).toBe(200);
		expect(ok.json).toMatchObject({ decision: 'decline', overrides: true, modelDecision: 'approve' });
		const listed = await call({ method: 'GET', path, token: reviewer });
		expect((listed.json as unknown[]).length).toBe(1);
		const stats = await call({
			method: 'GET',
			path: '/reviews/overrides?from=2025-08-01&to=2025-09-01',
			token: reviewer
		});
		expect(stats.json).toMatchObject({ decisions: 1, highSide: 1, overrideRate: 1 });
	});

	it('should record a final decision from the decision page form, and show each missing field', async () => {
		const post = (form: Record<string, string>) =>
			reviewAction(
				pageEvent({
					role: 'risk_manager',
					url: `/history/${rows.untouched[0]?.id}?/review`,
					params: { id: rows.untouched[0]?.id ?? '' },
					routeId: '/history/[id]',
					form
				})
			);
		const refused = (await post({ decision: '', reason: '' })) as ActionFailure<FormProblem>;
		expect(isActionFailure(refused)).toBe(true);
		expect(refused.status).toBe(400);
		expect(Object.keys(refused.data.fieldErrors).sort()).toEqual(['decision', 'reason']);
		const done = (await post({ decision: 'refer', reason: 'Needs a second signature.' })) as {
			review: object;
		};
		expect(done.review).toMatchObject({ decision: 'refer', overrides: false });
	});
});
