/**
 * tRPC's own fetch adapter mounted at `/trpc` from a SvelteKit handle. `trpc-sveltekit` is the
 * design's choice but its tRPC-11 line does not build; see docs/adr/0001-trpc-fetch-adapter.md.
 */
import type { Handle } from '@sveltejs/kit';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from './root';
import { createContext } from './trpc';
import { logger } from '../logger';

export const TRPC_ENDPOINT = '/trpc';

export const trpcHandle: Handle = async ({ event, resolve }) => {
	const { pathname } = event.url;
	if (pathname !== TRPC_ENDPOINT && !pathname.startsWith(`${TRPC_ENDPOINT}/`)) return resolve(event);
	return fetchRequestHandler({
		endpoint: TRPC_ENDPOINT,
		req: event.request,
		router: appRouter,
		createContext: () => createContext(event),
		onError: ({ error, path }) => {
			if (error.code === 'INTERNAL_SERVER_ERROR') {
				logger.error({ requestId: event.locals.requestId, path, err: error.cause ?? error }, 'trpc error');
			}
		}
	});
};
