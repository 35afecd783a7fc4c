import { describe, expect, it } from 'vitest';
import { InvalidEnvironmentError, parseEnv } from './env';

describe('parseEnv', () => {
	it('should apply the defaults of an empty environment', () => {
		const env = parseEnv({});
		expect(env.PORT).toBe(3000);
		expect(env.PGLITE_DIR).toBe('.data/pglite');
		expect(env.DATABASE_URL).toBeUndefined();
		expect(env.MIGRATE_ON_START).toBe(true);
	});

	it('should treat empty strings as unset', () => {
		expect(parseEnv({ DATABASE_URL: '', PORT: '' }).PORT).toBe(3000);
	});

	it('should name the variable that is wrong', () => {
		expect(() => parseEnv({ PORT: 'abc' })).toThrow(InvalidEnvironmentError);
		expect(() => parseEnv({ PORT: 'abc' })).toThrow(/PORT/);
		expect(() => parseEnv({ DATABASE_URL: 'mysql://localhost/db' })).toThrow(/DATABASE_URL/);
	});

	it('should name every wrong variable at once', () => {
		try {
			parseEnv({ PORT: '70000', LOG_LEVEL: 'loud' });
			expect.unreachable();
		} catch (error) {
			expect((error as Error).message).toMatch(/PORT/);
			expect((error as Error).message).toMatch(/LOG_LEVEL/);
		}
	});

	it('should split the CORS allow-list', () => {
		expect(parseEnv({ CORS_ORIGINS: 'https://a.example, https://b.example' }).CORS_ORIGINS).toEqual([
			'https://a.example',
			'https://b.example'
		]);
	});
});
