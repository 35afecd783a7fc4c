/**
 * The production shape of the HTTP front in a test: a Node server whose fast path serves
 * `/api/v1`, services' `/trpc` scoring calls and (optionally) `/metrics`, as `server.js` does.
 * What the fast path hands on (to SvelteKit in production) is answered with {@link HANDED_ON}, so
 * that a test sees it happen.
 */
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Core } from '$lib/server/core-types';
import { apiHandlerFor, restDependencies } from '$lib/server/http/api';
import type { RestDependencies } from '$lib/server/http/rest';
import { createFastPath } from '$lib/server/http/node-adapter';
import { serveTrpcFast } from '$lib/server/http/trpc-fast';
import { metricsRequestHandler } from '$lib/server/observability/metrics-endpoint';

/** The status of a request the fast path handed on. */
export const HANDED_ON = 599;

export interface FastPathServer {
	/** `http://127.0.0.1:<port>` */
	base: string;
	close(): Promise<void>;
}

export async function startFastPathServer(
	core: Core,
	options: {
		metrics?: boolean;
		trpc?: boolean;
		/** Replaces parts of the `/trpc` fast path's dependencies (e.g. an authentication that fails). */
		deps?: Partial<RestDependencies>;
	} = {}
): Promise<FastPathServer> {
	const deps = { ...restDependencies(core), ...options.deps };
	const fastPath = createFastPath({
		bodyLimitBytes: core.env.API_BODY_LIMIT_BYTES,
		handler: apiHandlerFor(core),
		metrics: options.metrics ? metricsRequestHandler() : undefined,
		trpc: options.trpc === false ? undefined : (call, request) => serveTrpcFast(core, deps, call, request)
	});
	const handOn = (res: ServerResponse) => () => res.writeHead(HANDED_ON).end();
	const server = http.createServer((req, res) => {
		if (!fastPath(req, res, handOn(res))) handOn(res)();
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		close: () => new Promise((resolve) => server.close(() => resolve()))
	};
}
