import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const reportKinds = ['daily', 'weekly'] as const;
export type ReportKind = (typeof reportKinds)[number];

export const reportStatuses = ['running', 'completed', 'failed'] as const;
export type ReportStatus = (typeof reportStatuses)[number];

/**
 * Scheduled drift-and-performance reports (`docs/reports.md`). One row per kind and period: the
 * unique index is the claim — every instance's scheduler inserts the row of an occurrence with
 * `ON CONFLICT DO NOTHING`, and only the one whose insert returned it builds the report.
 */
export const reports = pgTable(
	'reports',
	{
		id: uuid('id').primaryKey().defaultRandom(),
		kind: text('kind').$type<ReportKind>().notNull(),
		/** The period reported on, `[period_start, period_end)` (whole UTC days). */
		periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
		periodEnd: timestamp('period_end', { withTimezone: true }).notNull(),
		status: text('status').$type<ReportStatus>().notNull().default('running'),
		/** `schedule` or `manual` (an administrator's run now). */
		trigger: text('trigger').notNull().default('schedule'),
		/** The instance that claimed the row and built the report. */
		instance: text('instance').notNull(),
		/** Who asked, for a manual run. */
		requestedBy: text('requested_by'),
		/** The report itself (`ReportContent`), once completed. */
		content: jsonb('content').$type<Record<string, unknown>>(),
		/** Why it failed, when it did. */
		error: text('error'),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		/** When the current run began (a failed or abandoned run may be taken over, see reports.service). */
		startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
		completedAt: timestamp('completed_at', { withTimezone: true }),
		/** Last successful webhook delivery; null when none was configured or it failed. */
		notifiedAt: timestamp('notified_at', { withTimezone: true })
	},
	(table) => [
		uniqueIndex('reports_kind_period_idx').on(table.kind, table.periodStart),
		index('reports_created_at_idx').on(table.createdAt),
		check('reports_kind_check', sql`${table.kind} in ('daily', 'weekly')`),
		check('reports_status_check', sql`${table.status} in ('running', 'completed', 'failed')`),
		check('reports_trigger_check', sql`${table.trigger} in ('schedule', 'manual')`),
		check('reports_period_check', sql`${table.periodEnd} > ${table.periodStart}`)
	]
);

export type Report = typeof reports.$inferSelect;
