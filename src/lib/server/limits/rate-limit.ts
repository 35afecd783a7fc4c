/**
 * Per-principal request limits for the API: `RATE_LIMIT_PER_SECOND` requests per second for each
 * service account or person, counted over windows of `RATE_LIMIT_WINDOW_SECONDS` (a principal may
 * spend the whole window's allowance in a burst). In memory by default (limits per instance);
 * in Redis when `REDIS_URL` is set (limits shared by all instances), falling back to memory while
 * Redis is unreachable.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Env } from '../env';
import { logger } from '../logger';
import { closeRedisClient, createRedisClient } from './redis';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiter {
	/**
	 * Takes `points` (default 1; a batch may cost its row count) from `key`'s allowance. Never
	 * rejects: if the store itself fails, the request is allowed and the failure logged, because
	 * refusing all traffic when Redis hiccups would be worse than briefly not limiting it.
	 */
	consume(key: string, points?: number): Promise<RateDecision>;
	/** Where counts live. */
	readonly store: 'memory' | 'redis';
	/** Closes the Redis connection if this limiter opened it. */
	close(): Promise<void>;
}

export interface RateLimiterOptions {
	/** Allowed points per second per key. */
	perSecond: number;
	/** Window in seconds; allowance per window is perSecond × windowSeconds. */
	windowSeconds?: number;
	/** Shared store: a client (not closed by `close()`) or a URL (connected here, closed by `close()`). */
	redis?: Redis | string;
	/** Namespace of the keys, so several limiters can share one Redis. */
	keyPrefix?: string;
}

const ALLOWED: RateDecision = Object.freeze({ allowed: true });

/** Decisions taken in memory because Redis was unreachable, since start (`/metrics`). */
let fallbackDecisions = 0;

/** How many rate-limit decisions were taken in memory because Redis was unreachable. */
export function rateLimitFallbacks(): number {
	return fallbackDecisions;
}

/** The in-memory limiter that stands in for Redis while it is unreachable, counting each decision. */
class InsuranceMemory extends RateLimiterMemory {
	override consume(
		...args: Parameters<RateLimiterMemory['consume']>
	): ReturnType<RateLimiterMemory['consume']> {
		fallbackDecisions += 1;
		return super.consume(...args);
	}
}
const STORE_ERROR_LOG_INTERVAL_MS = 30_000;

/** Creates a limiter; memory unless `redis` is given. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
	const windowSeconds = options.windowSeconds ?? 1;
	const points = Math.max(1, Math.round(options.perSecond * windowSeconds));
	const keyPrefix = options.keyPrefix ?? 'credible:rl';
	const ownsClient = typeof options.redis === 'string';
	const client = typeof options.redis === 'string' ? createRedisClient(options.redis) : options.redis;
	const memoryOptions = { points, duration: windowSeconds, keyPrefix };
	const memory = client ? new InsuranceMemory(memoryOptions) : new RateLimiterMemory(memoryOptions);
	const limiter = client
		? new RateLimiterRedis({
				storeClient: client,
				points,
				duration: windowSeconds,
				keyPrefix,
				// A key that has spent its allowance is refused from memory for the rest of the window,
				// so a client hammering past its limit costs no Redis round trip.
				inMemoryBlockOnConsumed: points,
				rejectIfRedisNotReady: true,
				// While Redis is down, each instance limits on its own.
				insuranceLimiter: memory
			})
		: memory;

	let lastStoreErrorLogged = 0;
	function storeFailed(error: unknown): RateDecision {
		const now = Date.now();
		if (now - lastStoreErrorLogged > STORE_ERROR_LOG_INTERVAL_MS) {
			lastStoreErrorLogged = now;
			logger.warn({ err: error }, 'rate limiter store failed; allowing the request');
		}
		return ALLOWED;
	}

	return {
		store: client ? 'redis' : 'memory',
		consume(key, cost = 1) {
			// The Redis store accepts whole points only.
			const spend = cost >= 1 ? Math.ceil(cost) : 1;
			return limiter.consume(key, spend).then(
				() => ALLOWED,
				(rejection: unknown) =>
					rejection instanceof RateLimiterRes ? refused(rejection.msBeforeNext) : storeFailed(rejection)
			);
		},
		async close() {
			if (client && ownsClient) await closeRedisClient(client);
		}
	};
}

/** A refusal with a `Retry-After` of at least one second (HTTP counts whole seconds). */
export function refused(msBeforeNext: number): RateDecision {
	return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)) };
}

/** The per-principal API limiter configured by the environment (Redis when `REDIS_URL` is set). */
export function createApiRateLimiter(
	config: Pick<Env, 'RATE_LIMIT_PER_SECOND' | 'RATE_LIMIT_WINDOW_SECONDS' | 'REDIS_URL'>,
	redis?: Redis
): RateLimiter {
	return createRateLimiter({
		perSecond: config.RATE_LIMIT_PER_SECOND,
		windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
		redis: redis ?? config.REDIS_URL,
		keyPrefix: 'credible:rl:api'
	});
}
