import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { roleEnum } from './enums';

/**
 * Machine clients of the API (OAuth 2.0 client credentials). The secret is shown once at creation
 * and only its SHA-256 is kept; see `services/service-accounts.service.ts` for why a fast hash is
 * right here. Accounts are revoked, never deleted, so the audit log keeps resolving their ids.
 */
export const serviceAccounts = pgTable(
	'service_accounts',
	{
		id: uuid('id').primaryKey().defaultRandom(),
		name: text('name').notNull(),
		/** Public identifier sent with the secret: `svc_` + 24 random hex digits. */
		clientId: text('client_id').notNull(),
		/** Hex SHA-256 of the secret. */
		secretHash: text('secret_hash').notNull(),
		role: roleEnum('role').notNull().default('scorer'),
		/** Who created it: `user:<id>`, or `system:cli` for the command line. No FK: users may go. */
		createdBy: text('created_by').notNull(),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		revokedAt: timestamp('revoked_at', { withTimezone: true }),
		/** Last successful token exchange (not every API call: that would be a write per request). */
		lastUsedAt: timestamp('last_used_at', { withTimezone: true })
	},
	(table) => [
		uniqueIndex('service_accounts_name_idx').on(table.name),
		uniqueIndex('service_accounts_client_id_idx').on(table.clientId),
		index('service_accounts_created_at_idx').on(table.createdAt),
		// Defence in depth: the service refuses it too, but no code path may mint an admin machine.
		check('service_accounts_role_not_admin', sql`${table.role} <> 'admin'`)
	]
);

export type ServiceAccount = typeof serviceAccounts.$inferSelect;
export type NewServiceAccount = typeof serviceAccounts.$inferInsert;
