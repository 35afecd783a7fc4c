/**
 * The SIGTERM drain of `server.js`: requests under way (and those a load balancer still sends on a
 * busy keep-alive connection) are answered, with `Connection: close`, before the drain resolves.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDrainingServer } from '../../server-drain.js';

interface Answer {
	status: number;
	connection: string | undefined;
	body: string;
}

function request(agent: http.Agent, port: number, path: string): Promise<Answer> {
	return new Promise((resolve, reject) => {
		const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
		});
		req.on('error', reject);
	});
}

/**
 * A server whose `/slow?ms=N` answers after N ms, and `/` at once. `finishedAt` holds, per path and
 * query, when the server handed the last byte of its answer to the socket: the drain's promise is
 * compared with that, not with when the client (in this same process) got round to reading it.
 */
async function start() {
	const finishedAt = new Map<string, number>();
	const { server, drain } = createDrainingServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://x');
		const ms = Number(url.searchParams.get('ms') ?? 0);
		res.once('finish', () => finishedAt.set(req.url ?? '/', Date.now()));
		setTimeout(() => res.end(`done ${url.pathname}`), ms);
	});
	server.keepAliveTimeout = 65_000;
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { server, drain, finishedAt, port: (server.address() as AddressInfo).port };
}

const agents: http.Agent[] = [];
function keepAliveAgent(): http.Agent {
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	agents.push(agent);
	return agent;
}
afterEach(() => {
	for (const agent of agents.splice(0)) agent.destroy();
});

describe('createDrainingServer', () => {
	it('should answer a request under way with Connection: close before the drain resolves', async () => {
		const { drain, finishedAt, port } = await start();
		const agent = keepAliveAgent();
		expect((await request(agent, port, '/')).connection).toBe('keep-alive');
		const slow = request(agent, port, '/slow?ms=300');
		await new Promise((resolve) => setTimeout(resolve, 50));
		const result = await drain(5000);
		const drainedAt = Date.now();
		const answer = await slow;
		expect(result).toEqual({ answered: true, requests: 1 });
		expect(answer).toMatchObject({ status: 200, connection: 'close', body: 'done /slow' });
		expect(finishedAt.get('/slow?ms=300')).toBeLessThanOrEqual(drainedAt);
	});

	it('should answer every request under way with Connection: close, then refuse new connections', async () => {
		const { drain, finishedAt, port } = await start();
		const busy = keepAliveAgent();
		const other = keepAliveAgent();
		// `other` holds an open keep-alive connection, busy when the drain begins.
		await request(other, port, '/');
		const first = request(other, port, '/slow?ms=100');
		const long = request(busy, port, '/slow?ms=600');
		await new Promise((resolve) => setTimeout(resolve, 30));
		const drained = drain(5000).then((result) => ({ ...result, at: Date.now() }));
		const firstAnswer = await first;
		expect(firstAnswer.connection).toBe('close');
		// The connection was closed after that answer; a new request is refused (no listener left).
		await expect(request(other, port, '/')).rejects.toThrow(/ECONNREFUSED/);
		const [longAnswer, result] = await Promise.all([long, drained]);
		expect(longAnswer).toMatchObject({ status: 200, connection: 'close' });
		expect(result).toMatchObject({ answered: true, requests: 2 });
		expect(finishedAt.get('/slow?ms=600')).toBeLessThanOrEqual(result.at);
	});

	it('should answer a request sent on an idle keep-alive connection after the drain began', async () => {
		const { drain, port } = await start();
		const busy = keepAliveAgent();
		const idle = keepAliveAgent();
		// `idle` holds a keep-alive connection with nothing on it when the drain begins.
		expect((await request(idle, port, '/')).connection).toBe('keep-alive');
		const long = request(busy, port, '/slow?ms=400');
		await new Promise((resolve) => setTimeout(resolve, 30));
		const drained = drain(5000);
		await new Promise((resolve) => setTimeout(resolve, 50));
		// What a proxy does with its pooled connection: send the next request on it.
		const late = await request(idle, port, '/');
		expect(late).toMatchObject({ status: 200, connection: 'close', body: 'done /' });
		expect(await long).toMatchObject({ status: 200, connection: 'close' });
		expect(await drained).toEqual({ answered: true, requests: 1 });
	});

	it('should close idle keep-alive connections once quiet when nothing is under way', async () => {
		const { server, drain, port } = await start();
		const agent = keepAliveAgent();
		await request(agent, port, '/');
		const connections = await new Promise<number>((resolve, reject) =>
			server.getConnections((error, count) => (error ? reject(error) : resolve(count)))
		);
		expect(connections).toBe(1);
		expect(await drain(5000)).toEqual({ answered: true, requests: 0 });
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(server.listening).toBe(false);
		await expect(request(agent, port, '/')).rejects.toThrow(/ECONNREFUSED/);
	});

	it('should give up after the timeout when a request is not answered', async () => {
		const { drain, port } = await start();
		const pending = request(keepAliveAgent(), port, '/slow?ms=10000').catch((error: Error) => error);
		await new Promise((resolve) => setTimeout(resolve, 30));
		const started = Date.now();
		expect(await drain(200)).toEqual({ answered: false, requests: 1 });
		expect(Date.now() - started).toBeLessThan(2000);
		// The connection left open past the timeout is closed.
		expect(await pending).toBeInstanceOf(Error);
	});
});
