import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { asDomainError, isDatabaseUnavailable, retryAfterOf, ServiceUnavailable } from './errors';

describe('a database that cannot be reached', () => {
	it('should be told from a statement that is wrong, and become a 503 with a retry hint', async () => {
		// Nothing listens on port 1: the real connection error of postgres.js.
		const sql = postgres('postgres://postgres@127.0.0.1:1/none', { max: 1, connect_timeout: 2 });
		const refused = await sql`select 1`.catch((error: unknown) => error);
		await sql.end({ timeout: 1 });
		expect(isDatabaseUnavailable(refused)).toBe(true);
		// Wrapped as drizzle wraps a failed query.
		const wrapped = new Error('Failed query: select 1', { cause: refused });
		const domain = asDomainError(wrapped);
		expect(domain).toBeInstanceOf(ServiceUnavailable);
		expect(retryAfterOf(domain)).toBe(2);

		const syntax = Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' });
		expect(isDatabaseUnavailable(new Error('Failed query', { cause: syntax }))).toBe(false);
		expect(asDomainError(new Error('Failed query', { cause: syntax }))).toBeUndefined();
		expect(isDatabaseUnavailable(Object.assign(new Error('timeout'), { code: '57014' }))).toBe(true);
	});
});
