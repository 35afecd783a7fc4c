import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './users.table';

/**
 * Two-factor recovery codes: shown once at enrolment, kept only as a SHA-256 digest (each code
 * carries 80 random bits, so a slow hash adds nothing but latency). A code is spent by setting
 * `used_at`; a new set replaces the old one.
 */
export const recoveryCodes = pgTable(
	'recovery_codes',
	{
		id: uuid('id').primaryKey().defaultRandom(),
		userId: text('user_id')
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		/** Hex SHA-256 of the normalised code (lower case, no dashes). */
		codeHash: text('code_hash').notNull(),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		usedAt: timestamp('used_at', { withTimezone: true })
	},
	(table) => [
		uniqueIndex('recovery_codes_user_hash_idx').on(table.userId, table.codeHash),
		index('recovery_codes_user_idx').on(table.userId)
	]
);

export type RecoveryCode = typeof recoveryCodes.$inferSelect;
