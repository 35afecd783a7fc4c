/**
 * The drift page on a real database: golden applicants scored now fill the last window of the
 * heat-map, each cell is `drift.get`'s PSI for that feature and window, and a bad filter comes
 * back as field errors beside the form.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, ruleFor } from '$lib/server/auth/access';
import { createCaller } from '$lib/server/trpc/root';
import * as driftPage from '../../src/routes/monitoring/drift/+page.server';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';

const golden = goldenRows('lending-club/xgb-1.0.0');

interface Window {
	window: { from: string; to: string };
	count: number;
	score: { psi: number; severity: string | null };
	features: { feature: string; psi: number; severity: string | null }[];
}
type PageResult = {
	filters: Record<string, string>;
	fieldErrors: Record<string, string[]>;
	grid: { count: number };
	windows: Window[];
};

describe.each(testDatabaseKinds())('drift page on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	const load = async (query: string) =>
		(await driftPage.load(
			pageEvent({
				role: 'risk_manager',
				url: `/monitoring/drift?${query}`,
				routeId: '/monitoring/drift'
			}) as never
		)) as PageResult;

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
		const batch = await createCaller(t.context('scorer')).scoring.scoreBatch({
			model: 'lending-club',
			applicants: golden.map((row) => row.raw)
		});
		expect(batch.summary.scored).toBe(golden.length);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	it('should draw the last 24 hours, the current hour holding every decision, each cell as drift.get says', async () => {
		const page = await load('model=lending-club&grid=hour');
		expect(page.fieldErrors).toEqual({});
		expect(page.windows).toHaveLength(24);
		// Every decision was scored this hour: in the last window (the one before if the hour turned since).
		const filled = page.windows.filter((w) => w.count > 0);
		expect(filled).toHaveLength(1);
		const last = filled[0];
		expect(last?.count).toBe(golden.length);
		expect(page.windows.indexOf(last as Window)).toBeGreaterThanOrEqual(22);
		expect(page.windows.filter((w) => w.count === 0).every((w) => w.score.severity === null)).toBe(true);
		// Windows follow each other without gap or overlap.
		for (let i = 1; i < page.windows.length; i++)
			expect(page.windows[i]?.window.from).toBe(page.windows[i - 1]?.window.to);

		const direct = await createCaller(t.context('risk_manager')).drift.get({
			model: 'lending-club',
			from: last?.window.from,
			to: last?.window.to
		});
		expect(last?.features.map((f) => [f.feature, f.psi])).toEqual(
			direct.features.map((f) => [f.feature, f.psi])
		);
		expect(last?.score.psi).toBe(direct.score.psi);

		const rule = ruleFor('/monitoring/drift')?.rule;
		if (!rule) throw new Error('no access rule');
		for (const role of ['viewer', 'executive', 'scorer'] as const)
			expect(decide(rule, { role, stage: 'active' }).outcome).toBe('forbidden');
	});

	it('should answer a bad filter with field errors, not a failure', async () => {
		const version = await load('model=lending-club&version=no-such-version');
		expect(version.windows).toEqual([]);
		expect(version.fieldErrors.version?.[0]).toMatch(/no-such-version/);
		const model = await load('model=no-such-model');
		expect(model.fieldErrors.model?.[0]).toMatch(/no-such-model/);
		// An unknown grid or baseline falls back to the defaults, as a typed URL may hold anything.
		const odd = await load('model=lending-club&grid=fortnight&baseline=yesterday');
		expect(odd.filters).toMatchObject({ grid: 'day', baseline: 'reference' });
		expect(odd.windows).toHaveLength(14);
	});
});
