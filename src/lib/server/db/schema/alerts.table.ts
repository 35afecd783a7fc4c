import { sql } from 'drizzle-orm';
import {
	check,
	doublePrecision,
	index,
	jsonb,
	pgTable,
	text,
	timestamp,
	uniqueIndex,
	uuid
} from 'drizzle-orm/pg-core';

export const alertRules = [
	'slo_latency',
	'error_spike',
	'no_traffic',
	'score_shift',
	'feature_drift',
	'performance_drop',
	'promotion_guard'
] as const;
export type AlertRule = (typeof alertRules)[number];

export const alertSeverities = ['warning', 'critical'] as const;
export type AlertSeverity = (typeof alertSeverities)[number];

export const alertStatuses = ['raised', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof alertStatuses)[number];

/**
 * Alerts raised by the in-app rules (`src/lib/server/monitoring/alerts.ts`): raised when a rule's
 * condition holds, acknowledged by a person, resolved when the condition clears. At most one open
 * (not resolved) alert per rule and key — the partial unique index is what lets several instances
 * sharing one database evaluate the same rules and still raise an alert once.
 */
export const alerts = pgTable(
	'alerts',
	{
		id: uuid('id').primaryKey().defaultRandom(),
		rule: text('rule').$type<AlertRule>().notNull(),
		/**
		 * What the rule watches within its kind: a model version (`lending-club/xgb-1.0.0`) for a score
		 * shift or a performance drop, a version's feature (`lending-club/xgb-1.0.0/annual_inc`) for
		 * feature drift, the instance for in-process rules, empty for instance-wide rules.
		 */
		key: text('key').notNull().default(''),
		severity: text('severity').$type<AlertSeverity>().notNull(),
		status: text('status').$type<AlertStatus>().notNull().default('raised'),
		summary: text('summary').notNull(),
		details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
		/** The measured value when raised (refreshed while open), and the threshold it crossed. */
		value: doublePrecision('value'),
		threshold: doublePrecision('threshold'),
		raisedAt: timestamp('raised_at', { withTimezone: true }).notNull().defaultNow(),
		acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
		/** User id of who acknowledged; the name is kept too, as names change and people leave. */
		acknowledgedBy: text('acknowledged_by'),
		acknowledgedByName: text('acknowledged_by_name'),
		resolvedAt: timestamp('resolved_at', { withTimezone: true }),
		/** Last time an evaluator saw the condition still holding (or cleared it). */
		lastEvaluatedAt: timestamp('last_evaluated_at', { withTimezone: true }).notNull().defaultNow(),
		/** Last successful webhook delivery for this alert; null when none was sent or all failed. */
		notifiedAt: timestamp('notified_at', { withTimezone: true })
	},
	(table) => [
		uniqueIndex('alerts_open_rule_key_idx')
			.on(table.rule, table.key)
			.where(sql`${table.status} <> 'resolved'`),
		index('alerts_raised_at_idx').on(table.raisedAt),
		index('alerts_status_idx').on(table.status, table.raisedAt),
		check('alerts_status_check', sql`${table.status} in ('raised', 'acknowledged', 'resolved')`),
		check('alerts_severity_check', sql`${table.severity} in ('warning', 'critical')`)
	]
);

export type Alert = typeof alerts.$inferSelect;
export type NewAlert = typeof alerts.$inferInsert;
