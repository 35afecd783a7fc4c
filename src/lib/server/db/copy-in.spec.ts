import { parse } from 'pg-connection-string';
import { describe, expect, it } from 'vitest';
import { withLibpqSslModes } from './copy-in';

describe('withLibpqSslModes', () => {
	it('should make node-postgres read sslmode=require as postgres.js does: encrypted, certificate not verified', () => {
		const url = 'postgres://app:secret@db.internal:5432/credible?sslmode=require';
		expect(parse(withLibpqSslModes(url))).toMatchObject({ ssl: { rejectUnauthorized: false } });
		// Without the flag node-postgres would verify the certificate (and refuse a self-signed one).
		expect(parse(url).ssl).not.toMatchObject({ rejectUnauthorized: false });
	});

	it('should keep verify-full verifying, and leave URLs without sslmode or with an explicit choice alone', () => {
		const full = parse(withLibpqSslModes('postgres://db/credible?sslmode=verify-full'));
		expect(full.ssl).not.toMatchObject({ rejectUnauthorized: false });
		for (const url of [
			'postgres://postgres@127.0.0.1:5432/test',
			'postgres://db/x?sslmode=require&uselibpqcompat=false'
		]) {
			expect(withLibpqSslModes(url)).toBe(url);
		}
	});
});
