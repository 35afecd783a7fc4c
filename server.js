// Credible's HTTP server: adapter-node's request handler inside our own node:http server, so that
// start-up errors are reported plainly, hot API paths can bypass SvelteKit's per-request machinery
// (see docs/architecture.md), and SIGTERM drains work before the process exits.
//
// OpenTelemetry is loaded first (a no-op when already loaded with `node --import` or disabled with
// OTEL_SDK_DISABLED=true), so that its HTTP instrumentation wraps the server created below.
await import('./otel/register.js');
const { createDrainingServer } = await import('./server-drain.js');

const SHUTDOWN_KEY = Symbol.for('credible.shutdown');
const FAST_PATH_KEY = Symbol.for('credible.fastPath');
const TELEMETRY_KEY = Symbol.for('credible.telemetry');

let handler;
try {
	// Importing the handler runs SvelteKit's `init` hook: env validation, migrations, model loading.
	({ handler } = await import('./build/handler.js'));
} catch (error) {
	const known = error instanceof Error && error.name === 'InvalidEnvironmentError';
	console.error(known ? error.message : error);
	process.exit(1);
}

const host = process.env.HOST || '0.0.0.0';
const port = Number(process.env.PORT || 3000);

const notFound = (res) => () => {
	res.statusCode = 404;
	res.end('Not found');
};
const { server, drain } = createDrainingServer((req, res) => {
	const fastPath = globalThis[FAST_PATH_KEY];
	// `next` lets the fast path hand a request it has looked at, unread, to SvelteKit after all.
	if (fastPath && fastPath(req, res, () => handler(req, res, notFound(res)))) return;
	handler(req, res, notFound(res));
});
server.keepAliveTimeout = 65_000;

server.listen(port, host, () => {
	console.log(JSON.stringify({ level: 'info', msg: `Credible listening on http://${host}:${port}` }));
});

let stopping = false;
async function shutdown(signal) {
	if (stopping) return;
	stopping = true;
	console.log(JSON.stringify({ level: 'info', msg: `${signal} received, draining` }));
	const forced = setTimeout(() => process.exit(1), 25_000);
	forced.unref();
	// The requests under way are answered before the core (workers, writer, database) stops.
	const { answered, requests } = await drain(15_000);
	if (!answered) console.error(JSON.stringify({ level: 'error', msg: 'requests still open after 15 s' }));
	console.log(JSON.stringify({ level: 'info', msg: `HTTP drained (${requests} requests under way)` }));
	try {
		await globalThis[SHUTDOWN_KEY]?.();
	} catch (error) {
		console.error(error);
	}
	// Last, so that spans of the drained requests are flushed to the collector.
	try {
		await globalThis[TELEMETRY_KEY]?.shutdown();
	} catch (error) {
		console.error(error);
	}
	process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
