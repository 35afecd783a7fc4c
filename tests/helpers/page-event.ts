/**
 * Drives SvelteKit page loads and form actions in-process, the way the portal's pages run them:
 * the test core becomes the process core (`getCore()`), and an event carries a signed-in person.
 */
import type { RequestEvent } from '@sveltejs/kit';
import type { Core } from '$lib/server/core-types';
import type { Role } from '$lib/server/db/schema';

const CORE_KEY = Symbol.for('credible.core');

/** The core that events built here carry in `locals.core` (as the first hook sets it). */
let processCore: Core | undefined;

/** Makes `getCore()` answer this core; returns a function that puts the previous one back. */
export function useAsProcessCore(core: Core): () => void {
	const previousCore = processCore;
	processCore = core;
	const holder = globalThis as Record<symbol, unknown>;
	const previous = holder[CORE_KEY];
	holder[CORE_KEY] = Promise.resolve(core);
	return () => {
		processCore = previousCore;
		if (previous === undefined) delete holder[CORE_KEY];
		else holder[CORE_KEY] = previous;
	};
}

export interface EventOptions {
	role: Role;
	url: string;
	params?: Record<string, string>;
	routeId: string;
	form?: Record<string, string>;
}

/** A request event for a page load (GET) or a form action (POST with `form`). */
export function pageEvent({ role, url, params = {}, routeId, form }: EventOptions): RequestEvent {
	const target = new URL(url, 'http://localhost');
	const body = form ? new URLSearchParams(form) : undefined;
	const request = new Request(target, {
		method: form ? 'POST' : 'GET',
		body,
		headers: form ? { 'content-type': 'application/x-www-form-urlencoded', origin: target.origin } : {}
	});
	const event = {
		request,
		url: target,
		params,
		route: { id: routeId },
		locals: {
			core: processCore,
			requestId: `test-${Math.random().toString(36).slice(2)}`,
			principal: { kind: 'user', id: `${role}-1`, name: role, role },
			session: null,
			user: null,
			authStage: 'active'
		},
		getClientAddress: () => '198.51.100.7',
		isDataRequest: false,
		fetch,
		cookies: { get: () => undefined, getAll: () => [], set: () => undefined, delete: () => undefined },
		setHeaders: () => undefined,
		depends: () => undefined
	};
	return event as unknown as RequestEvent;
}
