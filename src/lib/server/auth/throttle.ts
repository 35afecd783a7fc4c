/**
 * Sign-in throttling with exponential back-off, per account and per client IP. After `threshold`
 * consecutive failures the key is locked for `baseMs`, doubling with every further failure up to
 * `maxMs`. Attempts during a lock are refused without checking the password and do not extend it.
 *
 * Known accounts count on `users.failed_logins` / `locked_until`; IPs and unknown e-mail addresses
 * count in `login_throttle`, so an unknown address locks out exactly like a real one.
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Database } from '../db';
import { loginThrottle, users } from '../db/schema';

export interface BackoffPolicy {
	/** Consecutive failures before the first lock. */
	threshold: number;
	baseMs: number;
	maxMs: number;
	/** A counter with no failure for this long starts again from zero (throttle table only). */
	resetAfterMs: number;
}

export const ACCOUNT_BACKOFF: BackoffPolicy = {
	threshold: 5,
	baseMs: 60_000,
	maxMs: 3_600_000,
	resetAfterMs: 24 * 3_600_000
};

/** Wider: many people may share one address (an office NAT). */
export const IP_BACKOFF: BackoffPolicy = {
	threshold: 20,
	baseMs: 60_000,
	maxMs: 3_600_000,
	resetAfterMs: 3_600_000
};

/** How long to lock after the `failures`-th consecutive failure (0: no lock). */
export function lockDurationMs(failures: number, policy: BackoffPolicy): number {
	if (failures < policy.threshold) return 0;
	const doublings = Math.min(failures - policy.threshold, 30);
	return Math.min(policy.baseMs * 2 ** doublings, policy.maxMs);
}

export const ipKey = (ip: string): string => `ip:${ip}`;
export const emailKey = (email: string): string => `email:${email.toLowerCase()}`;

/** When the throttle key is locked until, or null when it is not locked at `now`. */
export async function throttleLockedUntil(db: Database, key: string, now: Date): Promise<Date | null> {
	const [row] = await db
		.select({ lockedUntil: loginThrottle.lockedUntil })
		.from(loginThrottle)
		.where(eq(loginThrottle.key, key));
	return row?.lockedUntil && row.lockedUntil > now ? row.lockedUntil : null;
}

/** Counts a failure against a throttle key; returns the new lock end, if any. */
export async function recordThrottleFailure(
	db: Database,
	key: string,
	policy: BackoffPolicy,
	now: Date
): Promise<Date | null> {
	const staleBefore = new Date(now.getTime() - policy.resetAfterMs);
	const [row] = await db
		.insert(loginThrottle)
		.values({ key, failures: 1, lastFailureAt: now })
		.onConflictDoUpdate({
			target: loginThrottle.key,
			set: {
				failures: sql`case when ${loginThrottle.lastFailureAt} < ${staleBefore.toISOString()}::timestamptz then 1 else ${loginThrottle.failures} + 1 end`,
				lastFailureAt: now
			}
		})
		.returning({ failures: loginThrottle.failures });
	// Keep the table small: counters idle for longer than any policy's reset window are worthless.
	await db
		.delete(loginThrottle)
		.where(lt(loginThrottle.lastFailureAt, new Date(now.getTime() - 24 * 3_600_000)));
	const lockMs = lockDurationMs(row?.failures ?? 1, policy);
	if (lockMs === 0) return null;
	const until = new Date(now.getTime() + lockMs);
	await db.update(loginThrottle).set({ lockedUntil: until }).where(eq(loginThrottle.key, key));
	return until;
}

/** Counts a failure against an account; returns the new lock end, if any. */
export async function recordAccountFailure(db: Database, userId: string, now: Date): Promise<Date | null> {
	const [row] = await db
		.update(users)
		.set({ failedLogins: sql`${users.failedLogins} + 1` })
		.where(eq(users.id, userId))
		.returning({ failures: users.failedLogins });
	const lockMs = lockDurationMs(row?.failures ?? 1, ACCOUNT_BACKOFF);
	if (lockMs === 0) return null;
	const until = new Date(now.getTime() + lockMs);
	await db.update(users).set({ lockedUntil: until }).where(eq(users.id, userId));
	return until;
}

/** Clears an account's counter after a successful sign-in (or an administrator's unlock). */
export async function clearAccountFailures(db: Database, userId: string): Promise<void> {
	await db
		.update(users)
		.set({ failedLogins: 0, lockedUntil: null })
		.where(and(eq(users.id, userId), sql`(${users.failedLogins} <> 0 or ${users.lockedUntil} is not null)`));
}
