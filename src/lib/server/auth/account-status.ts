/**
 * Whether a service account may still use its tokens, cached per instance for a short time.
 *
 * Tokens are stateless, so revoking an account must be checked on use. Asking the database on
 * every request would add a query to the hot path; caching the answer for `ttlMs` costs one query
 * per account per TTL instead. The price is the revocation bound: an instance may keep accepting
 * a revoked account's tokens for at most `ttlMs` after the revocation commits (the instance that
 * revokes drops its entry at once). The TTL is `AUTH_CACHE_SECONDS` (default 5 s).
 */
import { eq } from 'drizzle-orm';
import type { Database } from '../db';
import { serviceAccounts } from '../db/schema';

/** `revoked` also covers an account that does not exist (any more). */
export type AccountStatus = 'active' | 'revoked';

export interface AccountStatusCache {
	/** The account's status, from the cache when the entry is younger than the TTL. */
	get(accountId: string): Promise<AccountStatus>;
	/** Forgets one account, so that this instance sees a change at once. */
	invalidate(accountId: string): void;
}

export interface AccountStatusCacheOptions {
	load: (accountId: string) => Promise<AccountStatus>;
	/** How long an answer is trusted; 0 asks the database every time. */
	ttlMs: number;
	/** Clock in milliseconds; tests inject one to step past the TTL without sleeping. */
	now?: () => number;
	/** Entries kept at most; only ids from genuine tokens reach the cache, so this is a safety net. */
	maxEntries?: number;
}

interface Entry {
	status: AccountStatus;
	expiresAt: number;
}

/**
 * Creates the cache. Concurrent misses for one account share one query, and an entry's TTL runs
 * from when its query started, so the bound holds even for a read that raced the revocation.
 * A failed load is not cached and rejects: the caller answers 5xx rather than guess.
 */
export function createAccountStatusCache(options: AccountStatusCacheOptions): AccountStatusCache {
	const { load, ttlMs, maxEntries = 10_000 } = options;
	const now = options.now ?? Date.now;
	const entries = new Map<string, Entry>();
	const inFlight = new Map<string, Promise<AccountStatus>>();
	let generation = 0;

	async function refresh(accountId: string): Promise<AccountStatus> {
		const startedAt = now();
		const startedGeneration = generation;
		const status = await load(accountId);
		// An invalidation during the query means this answer may predate it: do not keep it.
		if (ttlMs > 0 && startedGeneration === generation) {
			if (entries.size >= maxEntries) entries.clear();
			entries.set(accountId, { status, expiresAt: startedAt + ttlMs });
		}
		return status;
	}

	return {
		get(accountId) {
			const entry = entries.get(accountId);
			if (entry && entry.expiresAt > now()) return Promise.resolve(entry.status);
			const joined = inFlight.get(accountId);
			if (joined) return joined;
			const pending: Promise<AccountStatus> = refresh(accountId).finally(() => {
				if (inFlight.get(accountId) === pending) inFlight.delete(accountId);
			});
			inFlight.set(accountId, pending);
			return pending;
		},
		invalidate(accountId) {
			generation++;
			entries.delete(accountId);
			inFlight.delete(accountId);
		}
	};
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Loads a service account's status from the database (the production `load`). */
export function serviceAccountStatusLoader(db: Database): (accountId: string) => Promise<AccountStatus> {
	return async (accountId) => {
		// A non-UUID would make PostgreSQL raise instead of answer "no such account".
		if (!UUID.test(accountId)) return 'revoked';
		const [row] = await db
			.select({ revokedAt: serviceAccounts.revokedAt })
			.from(serviceAccounts)
			.where(eq(serviceAccounts.id, accountId))
			.limit(1);
		return row && row.revokedAt === null ? 'active' : 'revoked';
	};
}
