/**
 * Throttle of failed token exchanges, per client id and per IP address. A client secret has 256
 * bits, so this is not what keeps it from being guessed; it bounds what a misbehaving or hostile
 * client can cost (a database lookup and an audit row per attempt) and keeps the audit log
 * readable. Only failures count; a success clears its client id's count.
 *
 * Trade-off: someone who knows a client id can get that client refused for `perClient.blockSeconds`
 * by failing on purpose. Client ids are not published, and the limit is generous.
 */
import type { Redis } from 'ioredis';
import {
	RateLimiterMemory,
	RateLimiterRedis,
	RateLimiterRes,
	type RateLimiterAbstract
} from 'rate-limiter-flexible';
import { logger } from '../logger';
import { refused, type RateDecision } from '../limits/rate-limit';

export interface ThrottleRule {
	/** Failures allowed within `windowSeconds`; the next one blocks. */
	failures: number;
	windowSeconds: number;
	/** How long a key stays blocked once over the limit. */
	blockSeconds: number;
}

export interface ExchangeThrottleOptions {
	perClient?: ThrottleRule;
	perIp?: ThrottleRule;
	/** Shared counts across instances; memory (per instance) when absent. */
	redis?: Redis;
}

export interface ExchangeThrottle {
	/** Whether an attempt may go ahead; `clientId` is null when malformed (only the IP counts then). */
	check(clientId: string | null, ip: string | null): Promise<RateDecision>;
	/** Counts a failed attempt against both keys. */
	recordFailure(clientId: string | null, ip: string | null): Promise<void>;
	/** Clears the client id's failures after a good exchange. */
	recordSuccess(clientId: string): Promise<void>;
}

export const DEFAULT_PER_CLIENT: ThrottleRule = { failures: 10, windowSeconds: 300, blockSeconds: 300 };
export const DEFAULT_PER_IP: ThrottleRule = { failures: 50, windowSeconds: 300, blockSeconds: 900 };

const ALLOWED: RateDecision = Object.freeze({ allowed: true });

/** Creates the throttle; in Redis when a client is given, else in memory. */
export function createExchangeThrottle(options: ExchangeThrottleOptions = {}): ExchangeThrottle {
	const perClient = options.perClient ?? DEFAULT_PER_CLIENT;
	const perIp = options.perIp ?? DEFAULT_PER_IP;
	const byClient = limiter(perClient, 'credible:throttle:client', options.redis);
	const byIp = limiter(perIp, 'credible:throttle:ip', options.redis);
	const ipKey = (ip: string | null) => ip ?? 'unknown';

	return {
		async check(clientId, ip) {
			const [client, address] = await Promise.all([
				clientId ? blockedFor(byClient, clientId) : 0,
				blockedFor(byIp, ipKey(ip))
			]);
			const ms = Math.max(client, address);
			return ms > 0 ? refused(ms) : ALLOWED;
		},
		async recordFailure(clientId, ip) {
			await Promise.all([
				clientId ? penalise(byClient, clientId, perClient) : undefined,
				penalise(byIp, ipKey(ip), perIp)
			]);
		},
		async recordSuccess(clientId) {
			await byClient.delete(clientId).catch(storeFailed);
		}
	};
}

function limiter(rule: ThrottleRule, keyPrefix: string, redis: Redis | undefined): RateLimiterAbstract {
	const settings = {
		points: rule.failures,
		duration: rule.windowSeconds,
		blockDuration: rule.blockSeconds,
		keyPrefix
	};
	const memory = new RateLimiterMemory(settings);
	if (!redis) return memory;
	return new RateLimiterRedis({
		...settings,
		storeClient: redis,
		rejectIfRedisNotReady: true,
		insuranceLimiter: memory
	});
}

/** Milliseconds the key stays blocked, 0 when it is not. */
async function blockedFor(limit: RateLimiterAbstract, key: string): Promise<number> {
	try {
		const state = await limit.get(key);
		return state && state.consumedPoints >= limit.points ? Math.max(state.msBeforeNext, 1) : 0;
	} catch (error) {
		storeFailed(error);
		return 0;
	}
}

/**
 * Counts a failure; the one that reaches the rule's `failures` starts the block (the limiter
 * itself would block only on the next one, letting one failure too many through).
 */
async function penalise(limit: RateLimiterAbstract, key: string, rule: ThrottleRule): Promise<void> {
	try {
		const state = await limit.consume(key);
		if (state.consumedPoints >= limit.points) await limit.block(key, rule.blockSeconds);
	} catch (error) {
		// Going over the limit rejects with the counter state: expected, the block is now set.
		if (!(error instanceof RateLimiterRes)) storeFailed(error);
	}
}

let lastLogged = 0;
/** The throttle fails open: a broken store must not stop every client from getting a token. */
function storeFailed(error: unknown): boolean {
	const now = Date.now();
	if (now - lastLogged > 30_000) {
		lastLogged = now;
		logger.warn({ err: error }, 'token throttle store failed; not throttling');
	}
	return false;
}
