import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createRateLimiter, type RateLimiter } from './rate-limit';
import { closeRedisClient, createRedisClient } from './redis';

const redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;

async function spend(limiter: RateLimiter, key: string, times: number) {
	const decisions = [];
	for (let i = 0; i < times; i++) decisions.push(await limiter.consume(key));
	return decisions;
}

describe('rate limiter in memory', () => {
	it('should allow up to the allowance, then refuse with a retry delay', async () => {
		const limiter = createRateLimiter({ perSecond: 5, windowSeconds: 2 });
		const decisions = await spend(limiter, 'service:a', 11);
		expect(decisions.slice(0, 10).every((decision) => decision.allowed)).toBe(true);
		expect(decisions[10]?.allowed).toBe(false);
		const refused = decisions[10] as { retryAfterSeconds: number };
		expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
		expect(refused.retryAfterSeconds).toBeLessThanOrEqual(2);
		expect(limiter.store).toBe('memory');
	});

	it('should count keys apart and charge a batch its cost', async () => {
		const limiter = createRateLimiter({ perSecond: 10 });
		expect(await limiter.consume('a', 10)).toEqual({ allowed: true });
		expect((await limiter.consume('a')).allowed).toBe(false);
		expect((await limiter.consume('b')).allowed).toBe(true);
		expect((await limiter.consume('c', 11)).allowed).toBe(false);
	});
});

describe.skipIf(!redisUrl)('rate limiter in Redis', () => {
	const prefix = `credible:test:${randomUUID()}`;
	const limiters: RateLimiter[] = [];
	let client: Redis;

	beforeAll(async () => {
		client = createRedisClient(redisUrl!);
		// The limiter uses memory until the connection is ready; wait so the test exercises Redis.
		if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
	});

	afterAll(async () => {
		await Promise.all(limiters.map((limiter) => limiter.close()));
		const keys = await client.keys(`${prefix}*`);
		if (keys.length > 0) await client.del(...keys);
		await closeRedisClient(client);
	});

	it('should share one allowance between two instances', async () => {
		const first = createRateLimiter({ perSecond: 3, windowSeconds: 60, redis: client, keyPrefix: prefix });
		const second = createRateLimiter({ perSecond: 3, windowSeconds: 60, redis: client, keyPrefix: prefix });
		limiters.push(first, second);
		expect(first.store).toBe('redis');
		// 180 points per 60 s window, spent across both "instances".
		expect(await first.consume('svc:x', 100)).toEqual({ allowed: true });
		expect(await second.consume('svc:x', 80)).toEqual({ allowed: true });
		expect(await client.get(`${prefix}:svc:x`)).toBe('180');
		const refused = await second.consume('svc:x');
		expect(refused.allowed).toBe(false);
		if (!refused.allowed) expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
	});

	it('should fall back to memory when Redis is unreachable', async () => {
		const limiter = createRateLimiter({ perSecond: 2, redis: 'redis://127.0.0.1:1', keyPrefix: prefix });
		limiters.push(limiter);
		expect(limiter.store).toBe('redis');
		expect(await limiter.consume('k')).toEqual({ allowed: true });
		expect(await limiter.consume('k')).toEqual({ allowed: true });
		expect((await limiter.consume('k')).allowed).toBe(false);
	});
});
