import { describe, expect, it } from 'vitest';
import { parseEnv } from './env';

describe('parseEnv: API access settings', () => {
	it('should default the token, cache and rate-limit settings', () => {
		const env = parseEnv({});
		expect(env.JWT_SECRET).toBeUndefined();
		expect(env.JWT_TTL_SECONDS).toBe(900);
		expect(env.AUTH_CACHE_SECONDS).toBe(5);
		expect(env.RATE_LIMIT_PER_SECOND).toBe(2000);
		expect(env.RATE_LIMIT_WINDOW_SECONDS).toBe(1);
		expect(env.REDIS_URL).toBeUndefined();
	});

	it('should require JWT_SECRET in production, naming it, alongside other bad variables', () => {
		expect(() => parseEnv({ NODE_ENV: 'production' })).toThrow(
			/JWT_SECRET is required when NODE_ENV=production/
		);
		expect(() => parseEnv({ NODE_ENV: 'production', PORT: 'abc' })).toThrow(
			/PORT[\s\S]*JWT_SECRET|JWT_SECRET[\s\S]*PORT/
		);
		expect(
			parseEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), TOTP_ENCRYPTION_KEY: 'ab'.repeat(32) })
				.JWT_SECRET
		).toHaveLength(32);
	});

	it('should refuse a short JWT_SECRET and a non-redis REDIS_URL', () => {
		expect(() => parseEnv({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET: must be at least 32 characters/);
		expect(() => parseEnv({ REDIS_URL: 'http://localhost:6379' })).toThrow(/REDIS_URL/);
		expect(parseEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }).REDIS_URL).toBe('redis://127.0.0.1:6379');
	});
});
