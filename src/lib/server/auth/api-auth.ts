/**
 * The authentication pieces of the API, assembled once per process around the database: token
 * signing and checking, the account-status cache, the service-account service and the token
 * endpoint's failure throttle. `core.auth` holds the result (`createApiAuth`); `authenticateBearer(core.auth, …)`
 * and `handleTokenRequest(core.auth, …)` take it as their dependencies.
 */
import type { Redis } from 'ioredis';
import type { Database } from '../db';
import type { Env } from '../env';
import {
	createServiceAccountService,
	type ServiceAccountService
} from '../services/service-accounts.service';
import {
	createAccountStatusCache,
	serviceAccountStatusLoader,
	type AccountStatusCache
} from './account-status';
import {
	createExchangeThrottle,
	type ExchangeThrottle,
	type ExchangeThrottleOptions
} from './exchange-throttle';
import { createAccessTokens, jwtSecretFromEnv, type AccessTokens } from './jwt';

export interface ApiAuth {
	tokens: AccessTokens;
	accountStatus: AccountStatusCache;
	serviceAccounts: ServiceAccountService;
	exchangeThrottle: ExchangeThrottle;
}

export interface ApiAuthOptions {
	db: Database;
	config: Pick<Env, 'NODE_ENV' | 'JWT_SECRET' | 'JWT_TTL_SECONDS' | 'AUTH_CACHE_SECONDS'>;
	/** Shares the token endpoint's throttle across instances; the caller owns (and closes) it. */
	redis?: Redis;
	/** Clock in milliseconds, for tests that expire tokens and cache entries without sleeping. */
	now?: () => number;
	/** Overrides of the failed-exchange limits (tests). */
	throttle?: Omit<ExchangeThrottleOptions, 'redis'>;
}

/** Assembles the authentication pieces. Holds no connections of its own, so nothing to close. */
export function createApiAuth(options: ApiAuthOptions): ApiAuth {
	const { db, config, now } = options;
	const tokens = createAccessTokens({
		secret: jwtSecretFromEnv(config),
		ttlSeconds: config.JWT_TTL_SECONDS,
		now
	});
	const accountStatus = createAccountStatusCache({
		load: serviceAccountStatusLoader(db),
		ttlMs: config.AUTH_CACHE_SECONDS * 1000,
		now
	});
	return {
		tokens,
		accountStatus,
		serviceAccounts: createServiceAccountService({ db, tokens, accountStatus }),
		exchangeThrottle: createExchangeThrottle({ ...options.throttle, redis: options.redis })
	};
}
