import { boolean, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { users } from './users.table';

/** Browser sessions (lucia's table shape: id, user_id, expires_at, plus our attributes). */
export const sessions = pgTable(
	'sessions',
	{
		id: text('id').primaryKey(),
		userId: text('user_id')
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
		twoFactorVerified: boolean('two_factor_verified').notNull().default(false),
		ip: text('ip'),
		userAgent: text('user_agent'),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow()
	},
	(table) => [index('sessions_user_idx').on(table.userId)]
);

export type Session = typeof sessions.$inferSelect;
