/**
 * The model performance page on a real database: it shows `performance.get`'s figures for the
 * chosen model, by vintage, and a bad filter comes back as field errors beside the form.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, ruleFor } from '$lib/server/auth/access';
import { predictions, type NewPrediction } from '$lib/server/db/schema';
import { createCaller } from '$lib/server/trpc/root';
import * as performancePage from '../../src/routes/monitoring/performance/+page.server';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';

const golden = goldenRows('lending-club/xgb-1.0.0');

function stored(probability: number, at: string): NewPrediction {
	return {
		id: randomUUID(),
		createdAt: new Date(at),
		modelId: 'lending-club',
		modelVersion: 'xgb-1.0.0',
		requestId: `req-${randomUUID()}`,
		requester: 'service:origination',
		channel: 'api',
		input: golden[0]?.raw ?? {},
		probability,
		margin: 0,
		points: 600,
		band: probability < 0.11 ? 'B' : 'E',
		decision: probability < 0.11 ? 'approve' : 'decline',
		reasons: [],
		latencyMs: 1
	};
}

type PageResult = {
	filters: Record<string, string>;
	fieldErrors: Record<string, string[]>;
	performance: {
		by: string;
		versions: {
			version: string;
			periods: { start: string; predictions: number }[];
			overall: { labelled: number; realised: { auc: { value: number } | null } | null };
		}[];
	} | null;
};

describe.each(testDatabaseKinds())('model performance page on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	const rows = [
		stored(0.05, '2024-01-10T10:00:00Z'),
		stored(0.3, '2024-01-20T10:00:00Z'),
		stored(0.08, '2024-02-10T10:00:00Z'),
		stored(0.4, '2024-02-11T10:00:00Z')
	];
	const load = async (query: string) =>
		(await performancePage.load(
			pageEvent({
				role: 'risk_manager',
				url: `/monitoring/performance?${query}`,
				routeId: '/monitoring/performance'
			}) as never
		)) as PageResult;

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
		await t.core.db.insert(predictions).values(rows);
		// The riskier loan of each month defaulted: the realised AUC is 1.
		await createCaller(t.context('risk_manager', 'rm-1')).outcomes.record({
			outcomes: rows.map((row) => ({
				predictionId: row.id,
				defaulted: row.probability > 0.2,
				observedAt: '2025-06-01'
			}))
		});
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	it('should show the figures by vintage for risk managers and administrators only', async () => {
		const page = await load('model=lending-club&version=xgb-1.0.0&from=2024-01-01&to=2024-02-28');
		expect(page.fieldErrors).toEqual({});
		const [version] = page.performance?.versions ?? [];
		expect(version?.version).toBe('xgb-1.0.0');
		expect(version?.periods.map((p) => [p.start.slice(0, 7), p.predictions])).toEqual([
			['2024-01', 2],
			['2024-02', 2]
		]);
		expect(version?.overall.labelled).toBe(4);
		expect(version?.overall.realised?.auc?.value).toBe(1);

		const rule = ruleFor('/monitoring/performance')?.rule;
		if (!rule) throw new Error('no access rule');
		expect(decide(rule, { role: 'admin', stage: 'active' }).outcome).toBe('allow');
		for (const role of ['viewer', 'executive', 'scorer'] as const)
			expect(decide(rule, { role, stage: 'active' }).outcome).toBe('forbidden');
	});

	it('should answer a bad filter with field errors, not a failure', async () => {
		const backwards = await load('model=lending-club&from=2024-03-01&to=2024-01-01');
		expect(backwards.performance).toBeNull();
		expect(Object.keys(backwards.fieldErrors)).toEqual(['to']);
		expect(backwards.filters).toMatchObject({ from: '2024-03-01', to: '2024-01-01' });

		const unknown = await load('model=no-such-model');
		expect(unknown.performance).toBeNull();
		expect(unknown.fieldErrors.model?.[0]).toMatch(/no-such-model/);

		const maturity = await load('model=lending-club&maturityMonths=lots');
		expect(Object.keys(maturity.fieldErrors)).toEqual(['maturityMonths']);
	});
});
