/**
 * The home page per role and the business figures behind it, on a real database: `kpis.summary`
 * (tRPC and `GET /api/v1/kpis`) counts the model's decisions per product in a period and the one
 * before it; the home page shows each role what it may use; the status page reads the readiness
 * checks; the refusal page names the roles a page is for.
 */
import { randomUUID } from 'node:crypto';
import { isHttpError } from '@sveltejs/kit';
import type { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictions, type NewPrediction, type Role } from '$lib/server/db/schema';
import { createCaller } from '$lib/server/trpc/root';
import * as homePage from '../../src/routes/+page.server';
import * as forbiddenPage from '../../src/routes/forbidden/+page.server';
import * as statusPage from '../../src/routes/status/+page.server';
import { apiClient, serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';

const golden = goldenRows('lending-club/xgb-1.0.0');
const DAY = 86_400_000;
/** The period under test: ten days ending at a fixed time; the previous period is the ten days before. */
const TO = new Date('2025-03-31T00:00:00Z');
const FROM = new Date(TO.getTime() - 10 * DAY);

function stored(
	model: 'lending-club' | 'consumer-credit',
	decision: NewPrediction['decision'],
	probability: number,
	at: Date
): NewPrediction {
	return {
		id: randomUUID(),
		createdAt: at,
		modelId: model,
		modelVersion: 'xgb-1.0.0',
		requestId: `req-${randomUUID()}`,
		requester: 'service:origination',
		channel: 'api',
		input: golden[0]?.raw ?? {},
		probability,
		margin: 0,
		points: 600,
		band: 'C',
		decision,
		reasons: [],
		latencyMs: 1
	};
}

type HomeData = Awaited<ReturnType<typeof homePage.load>> & { home: Record<string, unknown> | null };

describe.each(testDatabaseKinds())('home page and KPIs on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	const inPeriod = (days: number) => new Date(FROM.getTime() + days * DAY);
	const before = (days: number) => new Date(FROM.getTime() - days * DAY);

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
		await t.core.db.insert(predictions).values([
			// This period, Lending Club: 2 approved (PD 0.04 and 0.06), 1 referred, 1 declined.
			stored('lending-club', 'approve', 0.04, inPeriod(1)),
			stored('lending-club', 'approve', 0.06, inPeriod(2)),
			stored('lending-club', 'review', 0.13, inPeriod(3)),
			stored('lending-club', 'decline', 0.4, inPeriod(9.9)),
			// This period, consumer credit: 1 approved (PD 0.02).
			stored('consumer-credit', 'approve', 0.02, inPeriod(5)),
			// The period before: Lending Club 1 approved (PD 0.1), 1 declined.
			stored('lending-club', 'approve', 0.1, before(1)),
			stored('lending-club', 'decline', 0.3, before(9)),
			// Outside both periods: never counted.
			stored('lending-club', 'approve', 0.5, before(11)),
			stored('lending-club', 'decline', 0.5, new Date(TO.getTime() + 1))
		]);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	it('should count the period and the one before, per product and overall', async () => {
		const summary = await createCaller(t.context('executive', 'exec-1')).kpis.summary({ from: FROM, to: TO });
		expect(summary.period).toEqual({ from: FROM.toISOString(), to: TO.toISOString() });
		expect(summary.previousPeriod).toEqual({ from: before(10).toISOString(), to: FROM.toISOString() });
		expect(summary.overall.current).toMatchObject({ decisions: 5, approved: 3, referred: 1, declined: 1 });
		expect(summary.overall.current.approvalRate).toBeCloseTo(3 / 5, 12);
		expect(summary.overall.current.expectedDefaultRateApproved).toBeCloseTo((0.04 + 0.06 + 0.02) / 3, 12);
		expect(summary.overall.previous).toMatchObject({ decisions: 2, approved: 1, declined: 1 });
		expect(summary.overall.previous.expectedDefaultRateApproved).toBeCloseTo(0.1, 12);

		const lendingClub = summary.products.find((p) => p.model === 'lending-club');
		expect(lendingClub?.current).toMatchObject({ decisions: 4, approved: 2, referred: 1, declined: 1 });
		expect(lendingClub?.current.reviewRate).toBeCloseTo(0.25, 12);
		expect(lendingClub?.label).toMatch(/Lending Club/i);
		const consumer = summary.products.find((p) => p.model === 'consumer-credit');
		expect(consumer?.current).toMatchObject({ decisions: 1, approved: 1, approvalRate: 1 });
		// No decision the period before: rates are unknown, not zero.
		expect(consumer?.previous).toMatchObject({
			decisions: 0,
			approvalRate: null,
			expectedDefaultRateApproved: null
		});
	});

	it('should answer the same figures over REST, and field-level 400s for a bad period', async () => {
		const call = apiClient(t.core);
		const token = await serviceToken(t.core, `kpi-board-${kind}`, 'executive');
		const ok = await call({ path: `/kpis?from=${FROM.toISOString()}&to=${TO.toISOString()}`, token });
		expect(ok.status).toBe(200);
		expect((ok.json as { overall: { current: { decisions: number } } }).overall.current.decisions).toBe(5);

		const cases: [string, string][] = [
			[`from=${TO.toISOString()}&to=${FROM.toISOString()}`, 'to'],
			['to=9999-12-31', 'to'],
			['from=0000-01-01', 'from'],
			['from=not-a-date', 'from'],
			['from=2020-01-01&to=2025-01-01', 'from']
		];
		for (const [query, field] of cases) {
			const bad = await call({ path: `/kpis?${query}`, token });
			expect(bad.status, query).toBe(400);
			const { error } = bad.json as { error: { fieldErrors: Record<string, string[]> } };
			expect(Object.keys(error.fieldErrors), query).toContain(field);
		}
		const scorer = await serviceToken(t.core, `kpi-scorer-${kind}`, 'scorer');
		expect((await call({ path: '/kpis', token: scorer })).status).toBe(403);
		const viewer = await createCaller(t.context('viewer', 'v-1'))
			.kpis.summary({})
			.catch((e: unknown) => e);
		expect((viewer as TRPCError).code).toBe('FORBIDDEN');
	});

	it('should show each role what it may use on the home page', async () => {
		const homeOf = async (role: Role) =>
			((await homePage.load(pageEvent({ role, url: '/', routeId: '/' }) as never)) as HomeData).home;

		const manager = await homeOf('risk_manager');
		expect(manager).toMatchObject({ role: 'risk_manager', health: null, noticesUnset: null });
		expect(manager?.kpis).not.toBeNull();
		// The five newest decisions, newest first.
		const recent = manager?.recent as { createdAt: string }[];
		expect(recent).toHaveLength(5);
		expect(recent[0]?.createdAt).toBe(new Date(TO.getTime() + 1).toISOString());
		expect(manager?.openAlerts).toEqual([]);

		const executive = await homeOf('executive');
		expect(executive).toMatchObject({ role: 'executive', recent: undefined, openAlerts: null, health: null });
		expect(executive?.kpis).not.toBeNull();

		const admin = await homeOf('admin');
		expect(admin).toMatchObject({ role: 'admin', noticesUnset: true });
		expect((admin?.health as { status: string }).status).toBe('ready');

		const viewer = await homeOf('viewer');
		expect(viewer).toMatchObject({ role: 'viewer', kpis: null, recent: undefined, openAlerts: null });

		const anonymous = pageEvent({ role: 'viewer', url: '/', routeId: '/' });
		anonymous.locals.principal = null;
		anonymous.locals.authStage = null;
		expect(((await homePage.load(anonymous as never)) as HomeData).home).toBeNull();
	});

	it('should read the readiness checks for the status page', async () => {
		const event = pageEvent({ role: 'viewer', url: '/status', routeId: '/status' });
		event.locals.principal = null;
		const { health } = (await statusPage.load(event as never)) as {
			health: { status: string; checks: { name: string; ok: boolean }[] };
		};
		expect(health.status).toBe('ready');
		expect(health.checks.map((c) => c.name).sort()).toEqual(['database', 'models']);
	});

	it('should name the roles a refused page is for', () => {
		const refusal = (role: Role, route: string) => {
			try {
				void forbiddenPage.load(
					pageEvent({
						role,
						url: `/forbidden?route=${encodeURIComponent(route)}`,
						routeId: '/forbidden'
					}) as never
				);
			} catch (error) {
				if (isHttpError(error)) return { status: error.status, message: error.body.message };
			}
			return null;
		};
		expect(refusal('viewer', '/admin')).toEqual({
			status: 403,
			message:
				'You do not have access to this page: it is for administrators, and you are signed in as a viewer.'
		});
		expect(refusal('executive', '/history')?.message).toBe(
			'You do not have access to this page: it is for administrators and risk managers, and you are signed in as an executive.'
		);
		expect(refusal('viewer', '/no-such-page')).toEqual({
			status: 403,
			message: 'You do not have access to this page.'
		});
	});
});
