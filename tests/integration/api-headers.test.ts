/**
 * The answers of the Node fast path (`/api/v1`, `/metrics`), which SvelteKit's handles never see,
 * carry the security headers portal pages carry: no sniffing, no framing, nothing that may run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../helpers/core';
import { startFastPathServer, type FastPathServer } from '../helpers/fast-path';

describe('security headers of the fast path', () => {
	let t: TestCore;
	let front: FastPathServer;

	beforeAll(async () => {
		t = await startTestCore('pglite', { API_BODY_LIMIT_BYTES: '1024' });
		front = await startFastPathServer(t.core, { metrics: true });
	});
	afterAll(async () => {
		await front.close();
		await t.dispose();
	});

	it('should send nosniff, DENY framing and a no-content CSP on /api/v1 and /metrics answers of every status', async () => {
		const answers = [
			await fetch(`${front.base}/api/v1/openapi.json`),
			await fetch(`${front.base}/api/v1/models`),
			await fetch(`${front.base}/api/v1/models/%ff`),
			await fetch(`${front.base}/api/v1/models/lending-club/score`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: 'x'.repeat(2048)
			}),
			await fetch(`${front.base}/metrics`)
		];
		expect(answers.map((a) => a.status)).toEqual([200, 401, 400, 413, 200]);
		for (const answer of answers) {
			expect(answer.headers.get('x-content-type-options'), answer.url).toBe('nosniff');
			expect(answer.headers.get('x-frame-options'), answer.url).toBe('DENY');
			expect(answer.headers.get('content-security-policy'), answer.url).toBe(
				"default-src 'none'; frame-ancestors 'none'"
			);
			await answer.body?.cancel();
		}
	});
});
