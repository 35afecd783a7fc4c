import { bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { users } from './users.table';

/**
 * The last TOTP time step each user has redeemed, so that a code seen over a shoulder or in a
 * proxy log cannot be replayed within its validity window (RFC 6238 §5.2).
 */
export const totpUsedSteps = pgTable('totp_used_steps', {
	userId: text('user_id')
		.primaryKey()
		.references(() => users.id, { onDelete: 'cascade' }),
	lastStep: bigint('last_step', { mode: 'number' }).notNull(),
	usedAt: timestamp('used_at', { withTimezone: true }).notNull().defaultNow()
});
