/**
 * The application reference: an optional `applicationId` given with a single score or per row of a
 * batch, recorded with the decision, answered back, part of what an idempotency key stands for,
 * and searchable in the history. Bad references are field-level 400s that record nothing.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictions } from '$lib/server/db/schema';
import { countPredictions } from '$lib/server/services/prediction-writer';
import { listPredictions, parseHistoryQuery } from '$lib/server/services/history.service';
import { apiClient, serviceToken, type ApiAnswer, type ApiCall } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';

const golden = goldenRows('lending-club/xgb-1.0.0');
const applicant = golden[0]?.raw ?? {};
const other = golden[1]?.raw ?? {};

interface Problem {
	error: { code: string; fieldErrors?: Record<string, string[]> };
}

describe.each(testDatabaseKinds())('application reference on %s', (kind) => {
	let t: TestCore;
	let call: (c: ApiCall) => Promise<ApiAnswer>;
	let token: string;
	const ref = (name: string) => `LOS-${kind}-${name}`;

	beforeAll(async () => {
		t = await startTestCore(kind);
		call = apiClient(t.core);
		token = await serviceToken(t.core, 'origination');
	});
	afterAll(async () => {
		await t.dispose();
	});

	const score = (body: object, headers: Record<string, string> = {}) =>
		call({ method: 'POST', path: '/models/lending-club/score', body, token, headers });

	it('should record the reference of a single score, answer it back and find it in the history', async () => {
		const answer = await score({ applicant, applicationId: ref('2024/00017#a') });
		expect(answer.status).toBe(200);
		const result = answer.json as { predictionId: string; applicationId: string | null };
		expect(result.applicationId).toBe(ref('2024/00017#a'));
		const [stored] = await t.core.db
			.select({ applicationId: predictions.applicationId })
			.from(predictions)
			.where(eq(predictions.id, result.predictionId));
		expect(stored?.applicationId).toBe(ref('2024/00017#a'));

		const page = await listPredictions(t.core.db, parseHistoryQuery({ q: ref('2024/00017#a') }));
		expect(page.rows.map((row) => [row.id, row.applicationId])).toEqual([
			[result.predictionId, ref('2024/00017#a')]
		]);
		// Without a reference the answer says so.
		const none = (await score({ applicant })).json as { applicationId: string | null };
		expect(none.applicationId).toBeNull();
	});

	it('should refuse a malformed reference with a field-level 400 and record nothing', async () => {
		const before = await countPredictions(t.core.db);
		for (const bad of ['', 'has spaces', '-starts-with-dash', 'x'.repeat(65), 42]) {
			const answer = await score({ applicant, applicationId: bad });
			expect(answer.status, JSON.stringify(bad)).toBe(400);
			expect(Object.keys((answer.json as Problem).error.fieldErrors ?? {})).toEqual(['applicationId']);
		}
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should treat the same idempotency key with another reference as a different request', async () => {
		const key = { 'idempotency-key': `key-${kind}-1` };
		const first = await score({ applicant, applicationId: ref('A') }, key);
		expect(first.status).toBe(200);
		const again = await score({ applicant, applicationId: ref('A') }, key);
		expect(again.json).toMatchObject({ replayed: true, applicationId: ref('A') });
		const changed = await score({ applicant, applicationId: ref('B') }, key);
		expect(changed.status).toBe(400);
		expect((changed.json as Problem).error.fieldErrors?.requestId?.[0]).toContain('different request');
	});

	it('should record one reference per batch row and refuse a list of the wrong length', async () => {
		const body = {
			applicants: [applicant, other, applicant],
			applicationIds: [ref('batch-0'), null, ref('batch-2')]
		};
		const answer = await call({ method: 'POST', path: '/models/lending-club/score/batch', body, token });
		expect(answer.status).toBe(200);
		const results = (answer.json as { results: { applicationId: string | null }[] }).results;
		expect(results.map((r) => r.applicationId)).toEqual([ref('batch-0'), null, ref('batch-2')]);
		const found = await listPredictions(t.core.db, parseHistoryQuery({ q: ref('batch-2') }));
		expect(found.rows).toHaveLength(1);

		const before = await countPredictions(t.core.db);
		const wrong = await call({
			method: 'POST',
			path: '/models/lending-club/score/batch',
			body: { applicants: [applicant, other], applicationIds: [ref('only-one')] },
			token
		});
		expect(wrong.status).toBe(400);
		expect((wrong.json as Problem).error.fieldErrors?.applicationIds).toEqual([
			'Give one applicationId (or null) per applicant.'
		]);
		expect(await countPredictions(t.core.db)).toBe(before);
	});
});
