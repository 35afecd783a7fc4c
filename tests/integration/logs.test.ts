import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHandlerFor } from '$lib/server/http/api';
import { createFastPath } from '$lib/server/http/node-adapter';
import { captureLogs, logger } from '$lib/server/logger';
import { runInRequest } from '$lib/server/observability/request-context';
import { startTestCore, type TestCore } from '../helpers/core';
import { goldenRows } from '../helpers/golden';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
/** Values that must never reach a log line: an income, and a bad value sent for it. */
const INCOME = 918273.5;
const BAD_INCOME = 'leak-me-5550123';
const PASSWORD = 'correct-horse-battery-staple-42';

interface Line {
	level: string;
	time: string;
	msg: string;
	requestId?: string;
	traceId?: string;
	route?: string;
	status?: number;
	[key: string]: unknown;
}

const admin = { kind: 'user', id: 'log-admin', name: 'Log admin', role: 'admin' } as const;

describe('JSON logs', () => {
	let t: TestCore;
	let server: Server;
	let base: string;
	const raw: string[] = [];
	let restore: () => void;
	let level: string;

	beforeAll(async () => {
		t = await startTestCore('pglite');
		const fastPath = createFastPath({ bodyLimitBytes: 1_000_000, handler: apiHandlerFor(t.core) });
		server = http.createServer((req, res) => {
			if (!fastPath(req, res)) res.writeHead(404).end();
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
		restore = captureLogs((line) => raw.push(line));
		level = logger.level;
		// Debug: one access line per request, the most a request ever logs.
		logger.level = 'debug';
	});
	afterAll(async () => {
		logger.level = level;
		restore();
		await new Promise((resolve) => server.close(resolve));
		await t.dispose();
	});

	it('should carry the request id and trace id on every line of a request, and never a secret or applicant data', async () => {
		const account = await t.core.auth.serviceAccounts.create(admin, { name: 'log-test', role: 'scorer' });
		const exchange = (secret: string) =>
			fetch(`${base}/oauth/token`, {
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams({
					grant_type: 'client_credentials',
					client_id: account.clientId,
					client_secret: secret
				}).toString()
			});
		const wrong = `${account.clientSecret.slice(0, -2)}${account.clientSecret.endsWith('xx') ? 'yy' : 'xx'}`;
		expect((await exchange(wrong)).status).toBe(401);
		const granted = await exchange(account.clientSecret);
		expect(granted.status).toBe(200);
		const token = ((await granted.json()) as { access_token: string }).access_token;

		const applicant = { ...goldenRows('lending-club/xgb-1.0.0')[0]?.raw, annual_inc: INCOME };
		const score = (body: object, requestId: string) =>
			fetch(`${base}/models/lending-club/score`, {
				method: 'POST',
				headers: {
					authorization: `Bearer ${token}`,
					'content-type': 'application/json',
					'x-request-id': requestId,
					traceparent: TRACEPARENT
				},
				body: JSON.stringify(body)
			});
		expect((await score({ applicant }, 'log-test-scored')).status).toBe(200);
		expect(
			(await score({ applicant: { ...applicant, annual_inc: BAD_INCOME } }, 'log-test-refused')).status
		).toBe(400);

		// What careless code might pass to the logger inside a request: all of it must be scrubbed.
		const driverError = Object.assign(new Error('insert failed'), {
			code: '08006',
			parameters: [JSON.stringify([{ input: applicant }])]
		});
		runInRequest('log-test-direct', TRACEPARENT, () => {
			logger.error(
				{
					err: driverError,
					headers: { authorization: `Bearer ${token}`, cookie: `session=${token}` },
					password: PASSWORD,
					user: { password: PASSWORD, totp: '123456' },
					client_secret: account.clientSecret,
					applicant,
					input: applicant
				},
				'request failed'
			);
		});

		const lines = raw.map((line) => JSON.parse(line) as Line);
		expect(lines.length).toBeGreaterThanOrEqual(5);
		for (const line of lines) {
			expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
			expect(typeof line.msg).toBe('string');
			// Every line written while serving a request names it.
			if (line.msg === 'request') expect(line.requestId).toEqual(expect.any(String));
		}

		const scored = lines.find((line) => line.requestId === 'log-test-scored');
		expect(scored).toMatchObject({
			level: 'debug',
			traceId: TRACE_ID,
			route: 'POST /models/{model}/score',
			status: 200
		});
		expect(lines.find((line) => line.requestId === 'log-test-refused')).toMatchObject({
			traceId: TRACE_ID,
			status: 400
		});
		const direct = lines.find((line) => line.requestId === 'log-test-direct');
		expect(direct).toMatchObject({
			level: 'error',
			traceId: TRACE_ID,
			err: { message: 'insert failed', code: '08006' }
		});
		expect(lines.filter((line) => line.route === 'POST /oauth/token').map((line) => line.status)).toEqual([
			401, 200
		]);

		const text = raw.join('');
		for (const secret of [
			token,
			account.clientSecret,
			PASSWORD,
			'Bearer ',
			'session=',
			String(INCOME),
			BAD_INCOME,
			'123456'
		]) {
			expect(text, secret.slice(0, 12)).not.toContain(secret);
		}
	});
});
