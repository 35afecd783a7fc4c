import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Failed sign-in counters that do not belong to a user row: one per client IP (`ip:<address>`) and
 * one per unknown e-mail address (`email:<address>`), so that an unknown account locks out exactly
 * like a real one and lock-outs reveal nothing. Known accounts count on `users.failed_logins`.
 * Shared by every instance because it lives in the database.
 */
export const loginThrottle = pgTable(
	'login_throttle',
	{
		key: text('key').primaryKey(),
		failures: integer('failures').notNull().default(0),
		lockedUntil: timestamp('locked_until', { withTimezone: true }),
		lastFailureAt: timestamp('last_failure_at', { withTimezone: true }).notNull().defaultNow()
	},
	(table) => [index('login_throttle_last_failure_idx').on(table.lastFailureAt)]
);

export type LoginThrottle = typeof loginThrottle.$inferSelect;
