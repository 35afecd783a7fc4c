/**
 * Who may do what, checked against a real database: every tRPC procedure × every role (and
 * anonymous), and every page and endpoint of the portal. Procedures are discovered from the
 * router, so a new one is covered the day it is added; one without a declared rule fails here.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import type { AnyRouter } from '@trpc/server';
import { roles, type Role } from '$lib/server/db/schema';
import { appRouter } from '$lib/server/trpc/root';
import { type Access } from '$lib/server/trpc/trpc';
import {
	decide,
	endpointAccess,
	pageAccess,
	stagePath,
	type AuthStage,
	type RouteRule,
	type Visitor
} from '$lib/server/auth/access';
import { testDatabaseKinds } from '../helpers/database';
import { startTestCore, type TestCore } from '../helpers/core';

/** The application's router: every procedure it mounts is walked. */
function routerUnderTest(): AnyRouter {
	return appRouter;
}

interface ProcedureEntry {
	path: string;
	type: 'query' | 'mutation' | 'subscription';
	access: Access | undefined;
}

function proceduresOf(target: AnyRouter): ProcedureEntry[] {
	return Object.entries(
		target._def.procedures as Record<
			string,
			{ _def: { type: ProcedureEntry['type']; meta?: { access?: Access } } }
		>
	)
		.map(([procedurePath, procedure]) => ({
			path: procedurePath,
			type: procedure._def.type,
			access: procedure._def.meta?.access
		}))
		.sort((a, b) => a.path.localeCompare(b.path));
}

type Expected = 'allowed' | 401 | 403;

function expected(access: Access, role: Role | null): Expected {
	if (access === 'public') return 'allowed';
	if (role === null) return 401;
	if (access === 'authenticated') return 'allowed';
	return access.includes(role) ? 'allowed' : 403;
}

const callers: (Role | null)[] = [null, ...roles];
const target = routerUnderTest();
const procedures = proceduresOf(target);

describe('every procedure declares who may call it', () => {
	it.each(procedures.map((procedure) => [procedure.path, procedure.access] as const))(
		'%s declares an access rule',
		(_path, access) => {
			expect(access, 'build it with publicProcedure, protectedProcedure or roleProcedure(...)').toBeDefined();
		}
	);

	it('should cover the people and administration procedures', () => {
		const paths = procedures.map((procedure) => procedure.path);
		expect(paths).toEqual(
			expect.arrayContaining(['users.list', 'users.setRole', 'audit.list', 'security.settings'])
		);
	});
});

describe.each(testDatabaseKinds())('procedure × role on %s', (kind) => {
	let testCore: TestCore;

	beforeAll(async () => {
		testCore = await startTestCore(kind);
	});
	afterAll(async () => {
		await testCore.dispose();
	});

	/** Calls a procedure over HTTP as `role`, with no input: the rule is checked before the input. */
	async function status(procedure: ProcedureEntry, role: Role | null): Promise<number> {
		const response = await fetchRequestHandler({
			endpoint: '/trpc',
			req: new Request(
				`http://test/trpc/${procedure.path}`,
				procedure.type === 'query'
					? { method: 'GET' }
					: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' }
			),
			router: target,
			createContext: () => testCore.context(role, `${role ?? 'anonymous'}-caller`)
		});
		await response.body?.cancel();
		return response.status;
	}

	const cases = procedures
		.filter((procedure) => procedure.type !== 'subscription' && procedure.access !== undefined)
		.flatMap((procedure) =>
			callers.map((role) => ({
				procedure,
				role,
				expected: expected(procedure.access as Access, role)
			}))
		);

	it.each(cases.map((c) => [c.procedure.path, c.role ?? 'anonymous', c.expected, c] as const))(
		'%s as %s → %s',
		async (_path, _role, want, c) => {
			const got = await status(c.procedure, c.role);
			if (want === 'allowed') {
				expect(got, 'an allowed caller is never refused').not.toBe(401);
				expect(got).not.toBe(403);
				// Empty input must give a 4xx (validation), never a crash.
				expect(got).toBeLessThan(500);
			} else {
				expect(got).toBe(want);
			}
		}
	);
});

// Pages and endpoints

/** Route ids of the app, from the files under src/routes (groups kept, as SvelteKit does). */
function routeFiles(dir = 'src/routes', prefix = ''): { id: string; kind: 'page' | 'endpoint' }[] {
	const found: { id: string; kind: 'page' | 'endpoint' }[] = [];
	for (const entry of readdirSync(dir)) {
		const full = path.join(dir, entry);
		if (statSync(full).isDirectory()) found.push(...routeFiles(full, `${prefix}/${entry}`));
		else if (/^\+page\.svelte$/.test(entry)) found.push({ id: prefix || '/', kind: 'page' });
		else if (/^\+server\.(ts|js)$/.test(entry)) found.push({ id: prefix || '/', kind: 'endpoint' });
	}
	return found;
}

describe('every page and endpoint declares who may open it', () => {
	const routes = routeFiles();

	it.each(routes.map((route) => [route.kind, route.id] as const))('%s %s has a rule', (routeKind, id) => {
		const rules = routeKind === 'page' ? pageAccess : endpointAccess;
		expect(rules[id], `add '${id}' to ${routeKind}Access in src/lib/server/auth/access.ts`).toBeDefined();
	});

	it('should not keep rules for routes that no longer exist', () => {
		const ids = new Set(routes.map((route) => route.id));
		const stale = [...Object.keys(pageAccess), ...Object.keys(endpointAccess)].filter((id) => !ids.has(id));
		expect(stale).toEqual([]);
	});
});

describe('the route rule', () => {
	const visitors: { label: string; role: Role | null; stage: AuthStage | null }[] = [
		{ label: 'anonymous', role: null, stage: null },
		...(['two_factor', 'change_password', 'enrol_two_factor'] as const).map((stage) => ({
			label: `signing in (${stage})`,
			role: null,
			stage
		})),
		...roles.map((role) => ({ label: role, role, stage: role === 'scorer' ? null : ('active' as const) }))
	];
	const outcome = (rule: RouteRule | undefined, visitor: Visitor) => (rule ? decide(rule, visitor) : null);

	it.each(visitors)('should let only administrators into the administration pages ($label)', (visitor) => {
		for (const id of Object.keys(pageAccess).filter((routeId) => routeId.startsWith('/admin'))) {
			const decision = outcome(pageAccess[id], visitor);
			if (visitor.role === 'admin') expect(decision).toEqual({ outcome: 'allow' });
			else if (visitor.role) expect(decision).toEqual({ outcome: 'forbidden' });
			else if (visitor.stage)
				expect(decision).toEqual({ outcome: 'continue', path: stagePath(visitor.stage) });
			else expect(decision).toEqual({ outcome: 'sign_in' });
		}
	});

	it('should send a half-signed-in session to its next step and nowhere else', () => {
		expect(outcome(pageAccess['/login/2fa'], { role: null, stage: 'two_factor' })).toEqual({
			outcome: 'allow'
		});
		expect(outcome(pageAccess['/account/password'], { role: null, stage: 'two_factor' })).toEqual({
			outcome: 'continue',
			path: '/login/2fa'
		});
		expect(outcome(pageAccess['/account/2fa'], { role: null, stage: 'enrol_two_factor' })).toEqual({
			outcome: 'allow'
		});
		expect(outcome(pageAccess['/account'], { role: null, stage: 'enrol_two_factor' })).toEqual({
			outcome: 'continue',
			path: '/account/2fa'
		});
		expect(outcome(pageAccess['/login/2fa'], { role: 'viewer', stage: 'active' })).toEqual({
			outcome: 'continue',
			path: '/'
		});
	});
});
