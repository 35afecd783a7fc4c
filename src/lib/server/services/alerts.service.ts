/**
 * Alert records: raised by the rules (`monitoring/alerts.ts`), acknowledged by people, resolved
 * when the condition clears. Every state change is a single conditional statement, so two
 * instances evaluating the same rule at once cannot raise it twice (the partial unique index on
 * open alerts refuses the second insert) nor both resolve it (only one UPDATE matches).
 */
import { and, desc, eq, lt, ne, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db';
import {
	alertRules,
	alerts,
	alertStatuses,
	type Alert,
	type AlertRule,
	type AlertSeverity
} from '../db/schema';
import { domainErrors, ValidationFailed } from '../errors';
import { boundedInstant } from '../../validation/dates';
import { toFieldErrors } from '../../validation/field-errors';
import { recordAudit, type AuditActor } from './audit.service';

/** A rule's finding that should be (or stay) an open alert. */
export interface AlertCondition {
	rule: AlertRule;
	key: string;
	severity: AlertSeverity;
	summary: string;
	value: number | null;
	threshold: number | null;
	details: Record<string, unknown>;
}

/**
 * Opens an alert for the condition unless one is already open for its rule and key. Returns the
 * new alert, or null when one was open already (whoever raised it, this instance or another).
 */
export async function raiseAlert(db: Database, condition: AlertCondition, at: Date): Promise<Alert | null> {
	const [created] = await db
		.insert(alerts)
		.values({ ...condition, status: 'raised', raisedAt: at, lastEvaluatedAt: at })
		.onConflictDoNothing()
		.returning();
	return created ?? null;
}

/** Records that the condition of an open alert still holds, with its latest measurement. */
export async function refreshAlert(db: Database, condition: AlertCondition, at: Date): Promise<void> {
	await db
		.update(alerts)
		.set({
			value: condition.value,
			summary: condition.summary,
			details: condition.details,
			lastEvaluatedAt: at
		})
		.where(openFor(condition.rule, condition.key));
}

/** Resolves the open alert of a rule and key, if any; returns it only to the caller that resolved it. */
export async function resolveAlert(
	db: Database,
	rule: AlertRule,
	key: string,
	at: Date,
	reason: string
): Promise<Alert | null> {
	const [resolved] = await db
		.update(alerts)
		.set({
			status: 'resolved',
			resolvedAt: at,
			lastEvaluatedAt: at,
			details: sql`${alerts.details} || ${JSON.stringify({ resolution: reason })}::jsonb`
		})
		.where(openFor(rule, key))
		.returning();
	return resolved ?? null;
}

/**
 * Open alerts of `rules` that no evaluator has refreshed since `before`, except those of
 * `exceptKey`: per-instance alerts whose instance stopped (or restarted under another name).
 */
export async function staleAlerts(
	db: Database,
	rules: readonly AlertRule[],
	before: Date,
	exceptKey: string
): Promise<Alert[]> {
	return db
		.select()
		.from(alerts)
		.where(
			and(
				ne(alerts.status, 'resolved'),
				sql`${alerts.rule} in (${sql.join(
					rules.map((rule) => sql`${rule}`),
					sql`, `
				)})`,
				ne(alerts.key, exceptKey),
				lt(alerts.lastEvaluatedAt, before)
			)
		);
}

/** Records a successful webhook delivery. */
export async function markNotified(db: Database, id: string, at: Date): Promise<void> {
	await db.update(alerts).set({ notifiedAt: at }).where(eq(alerts.id, id));
}

/** Alerts not yet resolved, newest first. */
export async function openAlerts(db: Pick<Database, 'select'>): Promise<Alert[]> {
	return db
		.select()
		.from(alerts)
		.where(ne(alerts.status, 'resolved'))
		.orderBy(desc(alerts.raisedAt), desc(alerts.id));
}

export const alertQuerySchema = z.object({
	status: z.enum(alertStatuses).optional(),
	rule: z.enum(alertRules).optional(),
	/** Alerts raised before this time (the `raisedAt` of the last alert of the previous page). */
	before: boundedInstant.optional(),
	limit: z.coerce.number().int().min(1).max(200).default(50)
});
export type AlertQuery = z.input<typeof alertQuerySchema>;

/** The history of alerts, newest first, filtered by status and rule. */
export async function listAlerts(db: Pick<Database, 'select'>, query: AlertQuery): Promise<Alert[]> {
	const parsed = alertQuerySchema.safeParse(query);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const { status, rule, before, limit } = parsed.data;
	const conditions: SQL[] = [];
	if (status) conditions.push(eq(alerts.status, status));
	if (rule) conditions.push(eq(alerts.rule, rule));
	if (before) conditions.push(lt(alerts.raisedAt, before));
	return db
		.select()
		.from(alerts)
		.where(and(...conditions))
		.orderBy(desc(alerts.raisedAt), desc(alerts.id))
		.limit(limit);
}

export const acknowledgeInputSchema = z.object({ id: z.uuid() });

/**
 * A person takes an alert on: it stays open (its condition still holds) but is marked as being
 * handled, with an audit entry written in the same transaction. Only a raised alert can be
 * acknowledged: 404 for an unknown id, 409 when it is already acknowledged or resolved.
 */
export async function acknowledgeAlert(
	db: Database,
	actor: AuditActor,
	id: string,
	meta: { ip?: string | null; requestId?: string | null } = {}
): Promise<Alert> {
	return db.transaction(async (tx) => {
		const [updated] = await tx
			.update(alerts)
			.set({
				status: 'acknowledged',
				acknowledgedAt: sql`now()`,
				acknowledgedBy: actor.id,
				acknowledgedByName: actor.name
			})
			.where(and(eq(alerts.id, id), eq(alerts.status, 'raised')))
			.returning();
		if (!updated) {
			const [existing] = await tx.select({ status: alerts.status }).from(alerts).where(eq(alerts.id, id));
			if (!existing) throw domainErrors.notFound('No such alert.');
			throw domainErrors.conflict(`The alert is already ${existing.status}.`);
		}
		await recordAudit(tx, {
			actor,
			action: 'alert.acknowledge',
			target: { type: 'alert', id },
			ip: meta.ip,
			requestId: meta.requestId,
			details: { rule: updated.rule, key: updated.key, summary: updated.summary }
		});
		return updated;
	});
}

function openFor(rule: AlertRule, key: string) {
	return and(eq(alerts.rule, rule), eq(alerts.key, key), ne(alerts.status, 'resolved'));
}
