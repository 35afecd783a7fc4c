/**
 * Dates that JavaScript holds but PostgreSQL does not (year 0, years past 9999, 8.64e15 ms) in
 * every filter that takes one: each is a field-level 400 naming the field, on the procedures and
 * on the portal pages whose query strings feed them, never a database error.
 */
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaller } from '$lib/server/trpc/root';
import { ZodError } from 'zod';
import { ValidationFailed } from '$lib/server/errors';
import { toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import * as auditPage from '../../src/routes/admin/audit/+page.server';
import * as historyPage from '../../src/routes/history/+page.server';
import * as alertsPage from '../../src/routes/monitoring/alerts/+page.server';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';

const admin = { kind: 'user', id: 'date-admin', name: 'Admin', role: 'admin' } as const;
const OUT_OF_RANGE_DAYS = ['0000-01-01', '1899-12-31', '3000-01-01', '9999-12-31'];
const OUT_OF_RANGE_INSTANTS: unknown[] = [8.64e15, -8.64e15, '0000-01-01', '9999-12-31T23:59:59Z', 1e20];

/** The field errors of a refused call; fails the test when the call is not a field-level 400. */
async function refusedFields(call: Promise<unknown>): Promise<FieldErrors> {
	const error = await call.then(
		() => null,
		(e: unknown) => e
	);
	expect(error).toBeInstanceOf(TRPCError);
	expect((error as TRPCError).code).toBe('BAD_REQUEST');
	const cause = (error as TRPCError).cause;
	if (cause instanceof ZodError) return toFieldErrors(cause.issues);
	if (cause instanceof ValidationFailed) return cause.fieldErrors;
	throw new Error(`not a field-level refusal: ${String(error)}`);
}

describe.each(testDatabaseKinds())('dates outside the database range on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	const caller = () =>
		createCaller({ core: t.core, principal: admin, requestId: 'date-range', ip: null, channel: 'portal' });

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	it('should refuse out-of-range days in history.list, naming the field', async () => {
		for (const day of OUT_OF_RANGE_DAYS) {
			expect(Object.keys(await refusedFields(caller().history.list({ to: day }))), day).toEqual(['to']);
			expect(Object.keys(await refusedFields(caller().history.list({ from: day }))), day).toEqual(['from']);
		}
	});

	it('should refuse out-of-range instants in monitoring.alerts, audit.list and reviews.overrides', async () => {
		for (const value of OUT_OF_RANGE_INSTANTS) {
			const label = String(value);
			expect(Object.keys(await refusedFields(caller().monitoring.alerts({ before: value }))), label).toEqual([
				'before'
			]);
			expect(Object.keys(await refusedFields(caller().audit.list({ from: value }))), label).toEqual(['from']);
			expect(Object.keys(await refusedFields(caller().audit.list({ to: value }))), label).toEqual(['to']);
			expect(Object.keys(await refusedFields(caller().reviews.overrides({ from: value }))), label).toEqual([
				'from'
			]);
		}
	});

	it('should refuse out-of-range days in performance.get with the same rule', async () => {
		for (const day of OUT_OF_RANGE_DAYS) {
			expect(
				Object.keys(await refusedFields(caller().performance.get({ model: 'lending-club', to: day }))),
				day
			).toEqual(['to']);
		}
	});

	it('should refuse a well-formed cursor whose position the database cannot hold', async () => {
		const yearZero = '0000-01-01T00:00:00.000000Z';
		const historyCursor = Buffer.from(JSON.stringify([yearZero, '00000000-0000-4000-8000-000000000000']));
		const auditCursor = Buffer.from(JSON.stringify([yearZero, 1]));
		expect(
			Object.keys(await refusedFields(caller().history.list({ cursor: historyCursor.toString('base64url') })))
		).toEqual(['cursor']);
		expect(
			Object.keys(await refusedFields(caller().audit.list({ cursor: auditCursor.toString('base64url') })))
		).toEqual(['cursor']);
	});

	it('should still accept the first and last days of the range', async () => {
		await expect(caller().history.list({ from: '1900-01-01', to: '2999-12-31' })).resolves.toBeDefined();
		await expect(
			caller().audit.list({ from: new Date('1900-01-01T00:00:00Z'), to: new Date('3000-01-01T00:00:00Z') })
		).resolves.toBeDefined();
		await expect(caller().monitoring.alerts({ before: '2999-12-31T23:59:59Z' })).resolves.toBeDefined();
	});

	it('should show a field error on /history and /admin/audit for such a day, and ignore it on /monitoring/alerts', async () => {
		const history = (await historyPage.load(
			pageEvent({ role: 'admin', url: '/history?to=9999-12-31', routeId: '/history' }) as never
		)) as { fieldErrors: FieldErrors };
		expect(Object.keys(history.fieldErrors)).toEqual(['to']);

		for (const query of ['from=0000-01-01', 'to=9999-12-31']) {
			const audit = (await auditPage.load(
				pageEvent({ role: 'admin', url: `/admin/audit?${query}`, routeId: '/admin/audit' }) as never
			)) as { fieldErrors: FieldErrors };
			expect(Object.keys(audit.fieldErrors), query).toEqual([query.slice(0, query.indexOf('='))]);
		}

		for (const before of ['0000-01-01', '9999-12-31', '275760-09-13']) {
			const alerts = (await alertsPage.load(
				pageEvent({
					role: 'admin',
					url: `/monitoring/alerts?before=${before}`,
					routeId: '/monitoring/alerts'
				}) as never
			)) as { alerts: unknown[]; newest: string | null };
			expect(alerts.newest, before).toBeNull();
		}
	});
});
