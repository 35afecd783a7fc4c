/**
 * `/metrics` over HTTP: on the main port (through the custom server's fast path) when METRICS_PORT
 * is unset, otherwise only on its own listener. With METRICS_TOKEN set, a scrape must send
 * `Authorization: Bearer <token>` (see docs/observability.md).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { logger } from '../logger';
import { setSecurityHeaders } from '../security-headers';
import { scrapeMetrics } from './metrics';

export const METRICS_PATH = '/metrics';
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function digest(value: string): Buffer {
	return createHash('sha256').update(value).digest();
}

/** Answers a scrape: 401 without the token (when one is configured), else the exposition. */
export function metricsRequestHandler(token?: string): (req: IncomingMessage, res: ServerResponse) => void {
	const expected = token ? digest(`Bearer ${token}`) : undefined;
	return (req, res) => {
		setSecurityHeaders(res);
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			res.writeHead(405, { allow: 'GET, HEAD' }).end();
			return;
		}
		if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
			res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"' }).end();
			return;
		}
		scrapeMetrics().then(
			(body) => {
				res.writeHead(200, { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' });
				res.end(req.method === 'HEAD' ? undefined : body);
			},
			(error: unknown) => {
				logger.error({ err: error }, 'metrics collection failed');
				res.writeHead(500).end();
			}
		);
	};
}

/** True for `/metrics` and `/metrics?…`. */
export function isMetricsPath(url: string): boolean {
	return url === METRICS_PATH || url.startsWith(`${METRICS_PATH}?`);
}

/** Serves `/metrics` alone on its own port; resolves to the function that closes it. */
export async function startMetricsServer(options: {
	port: number;
	host: string;
	token?: string;
}): Promise<() => Promise<void>> {
	const handle = metricsRequestHandler(options.token);
	const server = http.createServer((req, res) => {
		if (isMetricsPath(req.url ?? '/')) handle(req, res);
		else res.writeHead(404).end();
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port, options.host, resolve);
	});
	logger.info({ port: options.port }, 'metrics served on their own port');
	return () =>
		new Promise<void>((resolve) => {
			server.close(() => resolve());
			server.closeAllConnections();
		});
}
