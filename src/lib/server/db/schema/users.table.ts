import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { roleEnum } from './enums';

export const users = pgTable(
	'users',
	{
		id: text('id').primaryKey(),
		email: text('email').notNull(),
		name: text('name').notNull(),
		role: roleEnum('role').notNull().default('viewer'),
		passwordHash: text('password_hash').notNull(),
		mustChangePassword: boolean('must_change_password').notNull().default(false),
		totpSecret: text('totp_secret'),
		totpEnabled: boolean('totp_enabled').notNull().default(false),
		failedLogins: integer('failed_logins').notNull().default(0),
		lockedUntil: timestamp('locked_until', { withTimezone: true }),
		disabledAt: timestamp('disabled_at', { withTimezone: true }),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
	},
	(table) => [
		uniqueIndex('users_email_lower_idx').on(sql`lower(${table.email})`),
		index('users_role_idx').on(table.role)
	]
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
