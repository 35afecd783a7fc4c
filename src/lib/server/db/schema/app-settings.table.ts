import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Instance-wide settings changed by administrators at run time (e.g. `require_two_factor`), one row
 * per key. A missing row means the built-in default, which may depend on `NODE_ENV`.
 */
export const appSettings = pgTable('app_settings', {
	key: text('key').primaryKey(),
	value: jsonb('value').$type<unknown>().notNull(),
	updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	/** User id of the administrator who last changed it (no FK: users are never deleted, but be safe). */
	updatedBy: text('updated_by')
});

export type AppSetting = typeof appSettings.$inferSelect;
