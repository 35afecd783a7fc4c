import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { z } from 'zod';
import { createCore } from '$lib/server/core';
import type { Core } from '$lib/server/core-types';
import { parseEnv } from '$lib/server/env';
import { createCaller } from '$lib/server/trpc/root';
import type { Principal } from '$lib/server/auth/principal';
import { publicProcedure, roleProcedure, router, type Context } from '$lib/server/trpc/trpc';
import { openTestDatabase, type TestDatabase } from '../helpers/database';

const testRouter = router({
	echo: publicProcedure
		.input(z.object({ amount: z.number().min(1000), term: z.enum(['term_36', 'term_60']) }))
		.mutation(({ input }) => input),
	adminOnly: roleProcedure('admin').query(() => 'secret'),
	crash: publicProcedure.query(() => {
		throw new Error('database password is hunter2');
	})
});

const analyst: Principal = { kind: 'user', id: 'u1', name: 'Ana', role: 'risk_manager' };
const admin: Principal = { kind: 'user', id: 'u2', name: 'Root', role: 'admin' };

describe('tRPC core', () => {
	let database: TestDatabase;
	let core: Core;
	const context = (principal: Principal | null): Context => ({
		core,
		principal,
		requestId: 'r1',
		ip: null,
		channel: 'trpc'
	});

	beforeAll(async () => {
		database = await openTestDatabase('pglite');
		core = await createCore(parseEnv({}), database, { ownsDatabase: false, workers: 1 });
	});
	afterAll(async () => {
		await core.stop();
		await database.dispose();
	});

	function call(path: string, init: RequestInit, principal: Principal | null = null): Promise<Response> {
		return fetchRequestHandler({
			endpoint: '/trpc',
			req: new Request(`http://test/trpc/${path}`, init),
			router: testRouter,
			createContext: () => context(principal)
		});
	}

	it('should report the instance ready through system.health when the database answers and models are loaded', async () => {
		const report = await createCaller(context(null)).system.health();
		expect(report.status).toBe('ready');
		expect(report.checks).toEqual([
			expect.objectContaining({ name: 'database', ok: true }),
			expect.objectContaining({ name: 'models', ok: true })
		]);
	});

	it('should report not ready when the database does not answer', async () => {
		const broken: Core = {
			...core,
			readiness: [{ name: 'database', check: () => Promise.reject(new Error('down')) }]
		};
		const report = await createCaller({ ...context(null), core: broken }).system.health();
		expect(report.status).toBe('not_ready');
		expect(report.checks[0]).toMatchObject({ ok: false, error: 'down' });
	});

	it('should answer bad input with 400 and a message for every bad field', async () => {
		const response = await call('echo', {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ amount: 5, term: 'term_12' })
		});
		expect(response.status).toBe(400);
		const body = (await response.json()) as { error: { data: { fieldErrors: Record<string, string[]> } } };
		expect(Object.keys(body.error.data.fieldErrors).sort()).toEqual(['amount', 'term']);
	});

	it('should never put a stack trace or an internal message in an error body', async () => {
		const response = await call('crash', { method: 'GET' });
		expect(response.status).toBe(500);
		const text = await response.text();
		expect(text).not.toMatch(/stack|at .*\.ts:\d+/);
		expect(text).not.toContain('hunter2');
	});

	it('should answer 401 to an anonymous caller and 403 to a caller without the role', async () => {
		expect((await call('adminOnly', { method: 'GET' })).status).toBe(401);
		expect((await call('adminOnly', { method: 'GET' }, analyst)).status).toBe(403);
		expect((await call('adminOnly', { method: 'GET' }, admin)).status).toBe(200);
	});
});
