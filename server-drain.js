// The HTTP server of `server.js`, with a drain for SIGTERM.
//
// `server.close()` alone is not a drain. It stops new connections but not new requests: a
// keep-alive connection busy when it is called stays open, and a proxy (nginx with `keepalive`,
// for one) goes on sending requests on it while the process stops the scoring workers and the
// database under them. And it closes the idle keep-alive connections at once, so that a request
// the proxy is writing on one at that moment meets a reset.
//
// So the drain stops listening but keeps the connections; answers every request from then on, and
// those under way, with `Connection: close`; waits until none is under way and none has arrived
// for a quiet spell (a connection the proxy is still using gets its request answered, and its
// close, within it); and only then closes the connections left, which the proxy has stopped using.
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** No request for this long, none under way: the connections left are not in use. */
const QUIET_MS = 250;

/**
 * @param {http.RequestListener} handler
 * @returns {{ server: http.Server, drain: (timeoutMs: number) => Promise<{ answered: boolean, requests: number }> }}
 */
export function createDrainingServer(handler) {
	/** @type {Set<http.ServerResponse>} */
	const inFlight = new Set();
	let draining = false;
	let lastRequestAt = 0;

	const server = http.createServer((req, res) => {
		lastRequestAt = Date.now();
		inFlight.add(res);
		res.once('close', () => inFlight.delete(res));
		if (draining) res.setHeader('connection', 'close');
		handler(req, res);
	});

	/**
	 * Stops accepting connections and waits (at most `timeoutMs`) until every request received has
	 * been answered and the connections are quiet; then closes them. `answered` is false on a
	 * timeout; `requests` counts those under way when the drain began.
	 * @param {number} timeoutMs
	 */
	async function drain(timeoutMs) {
		draining = true;
		const started = Date.now();
		const requests = inFlight.size;
		// net.Server's close: the listener only. http.Server's would also close idle connections.
		net.Server.prototype.close.call(server);
		for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
		let answered = false;
		while (Date.now() - started < timeoutMs) {
			if (inFlight.size === 0 && Date.now() - lastRequestAt >= QUIET_MS) {
				answered = true;
				break;
			}
			await sleep(20);
		}
		// Connections still open carry no request now (or only ones past the timeout).
		server.closeAllConnections();
		// http.Server's close now: it also stops the timer that checks request timeouts.
		server.close();
		return { answered, requests };
	}

	return { server, drain };
}
