import { describe, expect, it } from 'vitest';
import { createCors } from './cors';

const cors = createCors(['https://app.example.com', 'https://ops.example.com/']);

describe('CORS', () => {
	it('should allow a listed origin on a simple request and vary on Origin', () => {
		const answer = cors.answer({ method: 'POST', origin: 'https://app.example.com' });
		expect(answer).toMatchObject({ preflight: false, allowed: true, status: null });
		expect(answer.headers).toMatchObject({
			vary: 'Origin',
			'access-control-allow-origin': 'https://app.example.com'
		});
		expect(answer.headers['access-control-expose-headers']).toContain('x-request-id');
		expect(answer.headers).not.toHaveProperty('access-control-allow-credentials');
	});

	it('should match a listed origin written with a trailing slash', () => {
		expect(cors.answer({ method: 'GET', origin: 'https://ops.example.com' }).allowed).toBe(true);
	});

	it('should add no CORS header for an origin not on the list, only Vary', () => {
		for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'null']) {
			const answer = cors.answer({ method: 'POST', origin });
			expect(answer.allowed).toBe(false);
			expect(answer.headers).toEqual({ vary: 'Origin' });
		}
		expect(cors.answer({ method: 'GET', origin: null }).headers).toEqual({ vary: 'Origin' });
	});

	it('should answer an allowed preflight with 204, the methods and headers', () => {
		const answer = cors.answer({
			method: 'OPTIONS',
			origin: 'https://app.example.com',
			requestMethod: 'POST',
			requestHeaders: 'Content-Type, Authorization, Idempotency-Key, traceparent'
		});
		expect(answer).toMatchObject({ preflight: true, allowed: true, status: 204 });
		expect(answer.headers).toMatchObject({
			'access-control-allow-origin': 'https://app.example.com',
			'access-control-allow-methods': 'GET, POST, OPTIONS',
			'access-control-allow-headers':
				'content-type, authorization, idempotency-key, x-request-id, traceparent',
			'access-control-max-age': '600'
		});
		expect(answer.headers.vary).toContain('Origin');
	});

	it('should refuse a preflight from a foreign origin, for another method or asking other headers', () => {
		const base = { method: 'OPTIONS', origin: 'https://app.example.com', requestMethod: 'POST' };
		for (const request of [
			{ ...base, origin: 'https://evil.example' },
			{ ...base, requestMethod: 'DELETE' },
			{ ...base, requestHeaders: 'content-type, x-admin' }
		]) {
			const answer = cors.answer(request);
			expect(answer).toMatchObject({ preflight: true, allowed: false, status: 204 });
			expect(answer.headers).not.toHaveProperty('access-control-allow-origin');
		}
	});

	it('should treat OPTIONS without Access-Control-Request-Method as a plain request', () => {
		expect(cors.answer({ method: 'OPTIONS', origin: 'https://app.example.com' }).preflight).toBe(false);
	});

	it('should allow every origin with a wildcard and say so with *', () => {
		const open = createCors(['*']);
		expect(
			open.answer({ method: 'GET', origin: 'https://anything.example' }).headers[
				'access-control-allow-origin'
			]
		).toBe('*');
	});

	it('should allow nothing with an empty list', () => {
		expect(createCors([]).answer({ method: 'GET', origin: 'https://app.example.com' }).allowed).toBe(false);
	});
});
