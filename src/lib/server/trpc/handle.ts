/**
 * tRPC's own fetch adapter mounted at `/trpc` from a SvelteKit handle. `trpc-sveltekit` is the
 * design's choice but its tRPC-11 line does not build; see docs/adr/0001-trpc-fetch-adapter.md.
 */
import type { Handle, RequestEvent } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from './root';
import { createContext, trpcErrorBody } from './trpc';
import { logger } from '../logger';

export const TRPC_ENDPOINT = '/trpc';

export const trpcHandle: Handle = async ({ event, resolve }) => {
	const { pathname } = event.url;
	if (pathname !== TRPC_ENDPOINT && !pathname.startsWith(`${TRPC_ENDPOINT}/`)) return resolve(event);
	const req = await withReadBody(event);
	if (req instanceof Response) return req;
	return fetchRequestHandler({
		endpoint: TRPC_ENDPOINT,
		req,
		router: appRouter,
		createContext: () => createContext(event),
		onError: ({ error, path }) => {
			if (error.code === 'INTERNAL_SERVER_ERROR') {
				logger.error({ requestId: event.locals.requestId, path, err: error.cause ?? error }, 'trpc error');
			}
		}
	});
};

/**
 * The request with its body read here: a body over adapter-node's `BODY_SIZE_LIMIT` fails to read
 * with SvelteKit's 413, which tRPC would answer as a 400 ("could not parse"). That is a 413 in
 * tRPC's shape instead.
 */
async function withReadBody(event: RequestEvent): Promise<Request | Response> {
	const { request } = event;
	if (request.method === 'GET' || request.method === 'HEAD' || request.body === null) return request;
	try {
		const body = await request.arrayBuffer();
		return new Request(request, { body });
	} catch (error) {
		if ((error as { status?: unknown } | null)?.status !== 413) throw error;
		const tooLarge = new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: 'The body is too large.' });
		return Response.json(trpcErrorBody(tooLarge, event.url), {
			status: 413,
			headers: { connection: 'close' }
		});
	}
}
