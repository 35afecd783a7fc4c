/**
 * The audit log: who did what to what, from where. Append-only — this module offers an insert and
 * a read, and no code path updates or deletes a row (migration 0001 also installs a trigger that
 * refuses UPDATE and DELETE). Write an entry in the same transaction as the change it records, so
 * a change is never committed without its entry.
 */
import { and, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db';
import { auditLog, type ActorKind, type AuditEntry } from '../db/schema';
import { ValidationFailed } from '../errors';
import { boundedInstant, withinRange } from '../../validation/dates';
import { toFieldErrors } from '../../validation/field-errors';

/** Who acted. A `Principal` (user or service) fits as it is; the CLI and jobs use `kind: 'system'`. */
export interface AuditActor {
	kind: ActorKind;
	id: string | null;
	name: string | null;
}

/** One event to record. Never put secrets in `details`; keys that look like one are redacted anyway. */
export interface AuditRecord {
	actor: AuditActor;
	/** Dotted verb: `service_account.create`, `auth.token_issued`, `auth.login_failed`… */
	action: string;
	target?: { type: string; id: string | null } | null;
	ip?: string | null;
	requestId?: string | null;
	details?: Record<string, unknown>;
}

/** Where an entry can be written: the database or an open transaction on it. */
export type AuditWriter = Pick<Database, 'insert'>;

/** Appends one entry. Pass the transaction that makes the audited change, when there is one. */
export async function recordAudit(db: AuditWriter, entry: AuditRecord): Promise<void> {
	await db.insert(auditLog).values({
		actorKind: entry.actor.kind,
		actorId: entry.actor.id,
		actorName: entry.actor.name,
		action: entry.action,
		targetType: entry.target?.type ?? null,
		targetId: entry.target?.id ?? null,
		ip: entry.ip ?? null,
		requestId: entry.requestId ?? null,
		details: redact(entry.details ?? {})
	});
}

const SECRET_KEY = /secret|password|passwd|token$|^token|authorization|otp|totp|credential/i;

/** Defence in depth: callers must not log secrets, and a slip still must not reach the table. */
function redact(value: Record<string, unknown>, depth = 0): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [key, item] of Object.entries(value)) {
		if (SECRET_KEY.test(key)) out[key] = '[redacted]';
		else if (item && typeof item === 'object' && !Array.isArray(item) && depth < 4)
			out[key] = redact(item as Record<string, unknown>, depth + 1);
		else out[key] = item;
	}
	return out;
}

/** Filters of `listAudit`, validated (use it as a tRPC input or to parse a query string). */
export const auditQuerySchema = z.object({
	/** Inclusive lower bound on `at`. */
	from: boundedInstant.optional(),
	/** Exclusive upper bound on `at`. */
	to: boundedInstant.optional(),
	/** Exact actor id (user or service-account id, or `cli`). */
	actor: z.string().min(1).max(200).optional(),
	/** Exact action, e.g. `auth.token_denied`. */
	action: z.string().min(1).max(100).optional(),
	target: z
		.object({ type: z.string().min(1).max(100), id: z.string().min(1).max(200).optional() })
		.optional(),
	limit: z.coerce.number().int().min(1).max(500).default(50),
	/** `nextCursor` of the previous page; absent for the first (newest) page. */
	cursor: z.string().max(200).optional()
});

export type AuditQuery = z.input<typeof auditQuerySchema>;

export interface AuditPage {
	/** Newest first. */
	entries: AuditEntry[];
	/** Pass as `cursor` to get the next (older) page; null on the last page. */
	nextCursor: string | null;
}

/**
 * Reads the log newest first with keyset pagination on (at, id): stable under concurrent inserts
 * and as fast on page 1000 as on page 1, unlike OFFSET. Throws `ValidationFailed` (400) on a bad
 * filter or cursor.
 */
export async function listAudit(db: Pick<Database, 'select'>, query: AuditQuery): Promise<AuditPage> {
	const parsed = auditQuerySchema.safeParse(query);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const { from, to, actor, action, target, limit, cursor } = parsed.data;
	const position = cursor === undefined ? undefined : decodeCursor(cursor);

	const conditions: SQL[] = [];
	if (from) conditions.push(gte(auditLog.at, from));
	if (to) conditions.push(lt(auditLog.at, to));
	if (actor) conditions.push(eq(auditLog.actorId, actor));
	if (action) conditions.push(eq(auditLog.action, action));
	if (target) {
		conditions.push(eq(auditLog.targetType, target.type));
		if (target.id) conditions.push(eq(auditLog.targetId, target.id));
	}
	// The cursor carries `at` to the microsecond: a JS Date keeps milliseconds only, and rounding
	// would skip or repeat rows written in the same millisecond.
	if (position)
		conditions.push(sql`(${auditLog.at}, ${auditLog.id}) < (${position.at}::timestamptz, ${position.id})`);

	const rows = await db
		.select({ entry: auditLog, exactAt: sql<string>`${EXACT_AT}` })
		.from(auditLog)
		.where(and(...conditions))
		.orderBy(desc(auditLog.at), desc(auditLog.id))
		.limit(limit + 1);

	const page = rows.slice(0, limit);
	const last = page.at(-1);
	return {
		entries: page.map((row) => row.entry),
		nextCursor: rows.length > limit && last ? encodeCursor(last.exactAt, last.entry.id) : null
	};
}

/** `at` as an ISO string with microseconds, independent of the session's DateStyle and TimeZone. */
const EXACT_AT = sql`to_char(${auditLog.at} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

// A cursor is made here, but comes back from the client: its position must be one the database holds.
const cursorSchema = z.tuple([
	z.iso.datetime({ precision: 6 }).refine(withinRange),
	z.number().int().positive()
]);

function encodeCursor(at: string, id: number): string {
	return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: number } {
	try {
		const [at, id] = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
		return { at, id };
	} catch {
		throw new ValidationFailed({ cursor: ['Invalid cursor; pass nextCursor of the previous page.'] });
	}
}
