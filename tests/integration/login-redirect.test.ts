/**
 * The page to return to after signing in is sent back as a `Location` header, which holds ASCII
 * only: a `redirectTo` with other characters (`/к`) must come back percent-encoded, both when a
 * signed-in person opens `/login` and at the end of sign-in, never as a 500.
 */
import { isRedirect } from '@sveltejs/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as loginPage from '../../src/routes/login/+page.server';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import { makeUser, PASSWORD } from '../helpers/people';

const NON_ASCII = ['/к', '/history?q=ü', '/%D0%BA', '/a b#ç'];

/** The `Location` of a redirect thrown by `run`, checked to be a valid header value. */
async function locationOf(run: () => unknown): Promise<string> {
	const thrown = await Promise.resolve()
		.then(run)
		.then(
			() => null,
			(e: unknown) => e
		);
	if (!isRedirect(thrown)) throw new Error(`expected a redirect, got ${String(thrown)}`);
	expect(() => new Headers({ location: thrown.location })).not.toThrow();
	return thrown.location;
}

describe.each(testDatabaseKinds())('redirectTo with non-ASCII characters on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	it('should send a signed-in person opening /login on to the percent-encoded page', async () => {
		for (const back of NON_ASCII) {
			const url = `/login?redirectTo=${encodeURIComponent(back)}`;
			const location = await locationOf(() =>
				loginPage.load(pageEvent({ role: 'viewer', url, routeId: '/login' }) as never)
			);
			const expected = new URL(back, 'http://localhost');
			expect(location, back).toBe(expected.pathname + expected.search + expected.hash);
		}
	});

	it('should end sign-in on the percent-encoded page', async () => {
		const user = await makeUser(t.core.db);
		const event = pageEvent({
			role: 'viewer',
			url: `/login?redirectTo=${encodeURIComponent('/к')}`,
			routeId: '/login',
			form: { email: user.email, password: PASSWORD }
		});
		event.locals.session = null;
		event.locals.authStage = null;
		expect(await locationOf(() => loginPage.actions.default!(event as never))).toBe('/%D0%BA');
	});
});
