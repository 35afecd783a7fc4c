/**
 * The Redis connection shared by the rate limiters (per-principal limits and the token endpoint's
 * failure throttle), when `REDIS_URL` is set.
 */
import { Redis } from 'ioredis';
import { logger } from '../logger';

/** Log a broken connection at most this often: ioredis retries every few hundred ms. */
const ERROR_LOG_INTERVAL_MS = 30_000;

/**
 * Connects to Redis for rate limiting. The offline queue is off, so a command fails at once while
 * Redis is unreachable (and the limiters fall back to memory) instead of queueing behind the
 * request; ioredis keeps reconnecting in the background.
 */
export function createRedisClient(url: string): Redis {
	const client = new Redis(url, {
		enableOfflineQueue: false,
		maxRetriesPerRequest: 1,
		connectTimeout: 2_000,
		commandTimeout: 500
	});
	let lastLogged = 0;
	// Without a listener an 'error' event would crash the process.
	client.on('error', (error: Error) => {
		const now = Date.now();
		if (now - lastLogged < ERROR_LOG_INTERVAL_MS) return;
		lastLogged = now;
		logger.warn({ err: { message: error.message } }, 'redis unavailable; rate limits fall back to memory');
	});
	return client;
}

/** Closes a client politely, or drops it when Redis does not answer. */
export async function closeRedisClient(client: Redis): Promise<void> {
	try {
		if (client.status === 'ready') await client.quit();
		else client.disconnect();
	} catch {
		client.disconnect();
	}
}
