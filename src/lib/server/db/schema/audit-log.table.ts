import { sql } from 'drizzle-orm';
import { bigserial, check, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const actorKinds = ['user', 'service', 'system'] as const;
export type ActorKind = (typeof actorKinds)[number];

/**
 * Security-relevant events (accounts created or revoked, tokens issued or denied, sign-ins…).
 * Append-only: the code has an insert path and a read path, nothing else, and a trigger added in
 * migration 0001 refuses UPDATE and DELETE. Ordered by (at, id): `at` is the transaction time, so
 * rows written in one transaction share it and `id` breaks the tie.
 */
export const auditLog = pgTable(
	'audit_log',
	{
		id: bigserial('id', { mode: 'number' }).primaryKey(),
		at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
		actorKind: text('actor_kind').$type<ActorKind>().notNull(),
		/** User id, service-account id, or a system component (`cli`, `token-endpoint`); null if unknown. */
		actorId: text('actor_id'),
		/** The actor's name at the time, kept because names change and accounts disappear. */
		actorName: text('actor_name'),
		/** Dotted verb, e.g. `service_account.create`, `auth.token_issued`, `auth.token_denied`. */
		action: text('action').notNull(),
		targetType: text('target_type'),
		targetId: text('target_id'),
		ip: text('ip'),
		requestId: text('request_id'),
		details: jsonb('details').$type<Record<string, unknown>>().notNull().default({})
	},
	(table) => [
		index('audit_log_at_idx').on(table.at, table.id),
		index('audit_log_actor_at_idx').on(table.actorId, table.at),
		index('audit_log_action_at_idx').on(table.action, table.at),
		index('audit_log_target_at_idx').on(table.targetType, table.targetId, table.at),
		check('audit_log_actor_kind_check', sql`${table.actorKind} in ('user', 'service', 'system')`)
	]
);

export type AuditEntry = typeof auditLog.$inferSelect;
export type NewAuditEntry = typeof auditLog.$inferInsert;
