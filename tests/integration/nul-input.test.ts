/**
 * PostgreSQL refuses a NUL character (U+0000) in any text, failing the whole query. Inputs with
 * one are a field-level 400 before any query, through the procedures and the portal pages that
 * pass a query string on.
 */
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationFailed } from '$lib/server/errors';
import { createCaller } from '$lib/server/trpc/root';
import { fieldsWithNul } from '$lib/validation/nul';
import * as auditPage from '../../src/routes/admin/audit/+page.server';
import * as usersPage from '../../src/routes/admin/users/+page.server';
import * as historyPage from '../../src/routes/history/+page.server';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';

const admin = { kind: 'user', id: 'nul-admin', name: 'Admin', role: 'admin' } as const;

async function refusedFields(call: Promise<unknown>): Promise<string[]> {
	const error = await call.then(
		() => null,
		(e: unknown) => e
	);
	expect(error).toBeInstanceOf(TRPCError);
	expect((error as TRPCError).code).toBe('BAD_REQUEST');
	const cause = (error as TRPCError).cause;
	expect(cause).toBeInstanceOf(ValidationFailed);
	return Object.keys((cause as ValidationFailed).fieldErrors);
}

describe('fieldsWithNul', () => {
	it('should name every string and key holding a NUL character, however deep', () => {
		expect(fieldsWithNul({ a: 'x', b: ['y', 'z\u0000'], c: { d: '\u0000' }, 'e\u0000': 1 })).toEqual([
			'b.1',
			'c.d',
			'e\u0000'
		]);
		expect(fieldsWithNul('\u0000')).toEqual(['']);
		expect(fieldsWithNul({ a: 1, b: null, c: new Date(0), d: 'plain' })).toEqual([]);
	});
});

describe.each(testDatabaseKinds())('NUL characters in input on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	const caller = () =>
		createCaller({ core: t.core, principal: admin, requestId: 'nul', ip: null, channel: 'portal' });

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	it('should refuse a NUL character in free-text fields with a field-level 400', async () => {
		expect(await refusedFields(caller().users.list({ search: 'a\u0000' }))).toEqual(['search']);
		expect(await refusedFields(caller().users.get({ id: '\u0000' }))).toEqual(['id']);
		expect(await refusedFields(caller().users.disable({ id: '\u0000' }))).toEqual(['id']);
		expect(await refusedFields(caller().audit.list({ actor: '\u0000' }))).toEqual(['actor']);
		expect(await refusedFields(caller().audit.list({ target: { type: 'user', id: 'x\u0000' } }))).toEqual([
			'target.id'
		]);
		expect(await refusedFields(caller().history.list({ requester: '\u0000' }))).toEqual(['requester']);
	});

	it('should answer 401, not 400, to an anonymous caller sending one', async () => {
		const anonymous = createCaller({
			core: t.core,
			principal: null,
			requestId: 'nul',
			ip: null,
			channel: 'api'
		});
		await expect(anonymous.users.list({ search: '\u0000' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
	});

	it('should show the refusal on /admin/users, /admin/audit and /history instead of a 500', async () => {
		const users = (await usersPage.load(
			pageEvent({ role: 'admin', url: '/admin/users?q=%00', routeId: '/admin/users' }) as never
		)) as { searchErrors: string[]; users: unknown[] };
		expect(users.searchErrors.length).toBe(1);
		expect(users.users).toEqual([]);
		const audit = (await auditPage.load(
			pageEvent({ role: 'admin', url: '/admin/audit?actor=%00', routeId: '/admin/audit' }) as never
		)) as { fieldErrors: Record<string, string[]> };
		expect(Object.keys(audit.fieldErrors)).toEqual(['actor']);
		const history = (await historyPage.load(
			pageEvent({ role: 'admin', url: '/history?requester=%00', routeId: '/history' }) as never
		)) as { fieldErrors: Record<string, string[]> };
		expect(Object.keys(history.fieldErrors)).toEqual(['requester']);
	});

	it('should show an actor longer than the audit log allows as a field error on /admin/audit', async () => {
		const audit = (await auditPage.load(
			pageEvent({
				role: 'admin',
				url: `/admin/audit?actor=${'x'.repeat(300)}`,
				routeId: '/admin/audit'
			}) as never
		)) as { fieldErrors: Record<string, string[]> };
		expect(Object.keys(audit.fieldErrors)).toEqual(['actor']);
	});
});
