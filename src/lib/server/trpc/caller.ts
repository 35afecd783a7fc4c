/**
 * In-process caller for page loads and form actions: they call procedures, not services, so each
 * access rule is enforced at the procedure too, and never over HTTP.
 */
import type { RequestEvent } from '@sveltejs/kit';
import { createCaller } from './root';
import { createContext } from './trpc';

export function callerFor(event: RequestEvent) {
	return createCaller(createContext(event));
}
