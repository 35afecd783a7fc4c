/**
 * Outcomes: what happened to scored applications (defaulted or not, the day it was observed, the
 * amount lost), linked to their predictions by prediction id or by the caller's application
 * reference. Up to 10,000 rows a call, in a fixed number of set-based statements inside one
 * transaction: one query resolves the application references, one reads the predictions, one the
 * latest version of each, one multi-row insert writes the new versions, one the audit entry.
 *
 * Idempotent per prediction: a row equal to the latest version (defaulted, day, loss) is
 * `unchanged`; a different one is a new version, `corrected`, listed in the call's audit entry
 * (old → new); the first is `recorded`. Rows are applied in the order given, so one call may record
 * and correct the same prediction. A row that fails its checks, names a prediction the caller may
 * not see or none, or an application reference with several predictions, is `rejected` with its
 * own error, and the other rows go on.
 *
 * Who sees which predictions: risk managers and administrators all of them; a scoring service (or
 * any `scorer`) only those it requested itself — another's prediction is reported as not found,
 * exactly like a missing one, so that nothing is learnt of it.
 */
import { asc, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Principal } from '../auth/principal';
import type { Database } from '../db';
import { outcomes, outcomeSources, predictions, type OutcomeSource } from '../db/schema';
import { domainErrors, isUniqueViolation, PredictionNotFound } from '../errors';
import type { FieldErrors } from '$lib/validation/field-errors';
import { recordAudit } from './audit.service';
import {
	MAX_OUTCOME_ROWS,
	observedDateError,
	outcomeRowDocumented,
	parseOutcomeRow,
	type OutcomeRow
} from './outcome-rows';

export const recordOutcomesInput = z.strictObject({
	outcomes: z
		.array(outcomeRowDocumented)
		.min(1, 'Give at least one outcome.')
		.max(
			MAX_OUTCOME_ROWS,
			`At most ${MAX_OUTCOME_ROWS.toLocaleString('en')} outcomes per call; split the file.`
		),
	source: z
		.enum(outcomeSources, { error: 'One of api, portal, csv.' })
		.default('api')
		.describe("Where the outcomes come from: 'api' (default), 'portal' (a form) or 'csv' (a file).")
});
export type RecordOutcomesInput = z.input<typeof recordOutcomesInput>;

/** A check before recording: the same rows, without a source (nothing is written). */
export const checkOutcomesInput = recordOutcomesInput.omit({ source: true });

export const outcomeStatuses = ['recorded', 'corrected', 'unchanged', 'rejected'] as const;
export type OutcomeStatus = (typeof outcomeStatuses)[number];
/** Why a row was rejected: its own fields, no prediction the caller may see, or several. */
export const outcomeErrorCodes = ['invalid', 'not_found', 'ambiguous'] as const;
export type OutcomeErrorCode = (typeof outcomeErrorCodes)[number];

export interface OutcomeRowResult {
	index: number;
	predictionId?: string;
	applicationId?: string;
	status: OutcomeStatus;
	/** The version now latest for this prediction (recorded, corrected or unchanged). */
	version?: number;
	error?: { code: OutcomeErrorCode; message: string; fieldErrors?: FieldErrors };
}

export interface RecordOutcomesResult {
	counts: Record<OutcomeStatus, number>;
	results: OutcomeRowResult[];
}

export interface OutcomeView {
	id: string;
	predictionId: string;
	version: number;
	defaulted: boolean;
	observedAt: string;
	lossAmount: number | null;
	note: string | null;
	source: OutcomeSource;
	recordedAt: string;
	recordedBy: string;
	recordedByName: string | null;
}

/** Where the request came from, for the rows and the audit entry. */
export interface OutcomeContext {
	ip: string | null;
	requestId: string | null;
	now?: Date;
}

/** Risk managers and administrators see every prediction; anyone else only their own. */
function scopeOf(principal: Principal): SQL | undefined {
	if (principal.role === 'admin' || principal.role === 'risk_manager') return undefined;
	return eq(predictions.requester, `${principal.kind}:${principal.id}`);
}

interface Target {
	id: string;
	decidedAt: Date;
	modelId: string;
	modelVersion: string;
}

interface Value {
	defaulted: boolean;
	observedAt: string;
	lossAmount: number | null;
}

/** What the transaction must still write, once the rows have been settled. */
interface NewVersion extends Value {
	predictionId: string;
	version: number;
	note: string | null;
	target: Target;
}

const ATTEMPTS = 3;

/**
 * Records a call's outcomes. Throws `ValidationFailed` (400) for a malformed call (no rows, more
 * than 10,000, an unknown source) and `Conflict` (409) when concurrent calls kept writing versions
 * of the same predictions; every other problem is a rejected row.
 */
export async function recordOutcomes(
	db: Database,
	recorder: Principal,
	input: z.output<typeof recordOutcomesInput>,
	context: OutcomeContext
): Promise<RecordOutcomesResult> {
	const now = context.now ?? new Date();
	const checked = input.outcomes.map((value) => parseOutcomeRow(value, now));
	for (let attempt = 1; ; attempt++) {
		try {
			return await db.transaction((tx) => recordIn(tx, recorder, input.source, checked, context));
		} catch (error) {
			// Two calls wrote the same version of a prediction at once: nothing of this one was kept,
			// and the rows are settled again against what the other call wrote.
			if (!isUniqueViolation(error)) throw error;
			if (attempt === ATTEMPTS)
				throw domainErrors.conflict(
					'Outcomes of the same predictions are being recorded by another call; send this one again.'
				);
		}
	}
}

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * What recording the rows would answer, row by row, without writing anything: the same checks
 * against the same predictions and latest versions (the portal shows them before a file is sent).
 * Another call may record in between, so the answer of `recordOutcomes` is the one that counts.
 */
export async function checkOutcomes(
	db: Database,
	reader: Principal,
	input: z.output<typeof checkOutcomesInput>,
	now: Date = new Date()
): Promise<RecordOutcomesResult> {
	const checked = input.outcomes.map((value) => parseOutcomeRow(value, now));
	const { results } = await db.transaction((tx) => settle(tx, reader, checked));
	return { counts: countOf(results), results };
}

async function recordIn(
	tx: Transaction,
	recorder: Principal,
	source: OutcomeSource,
	checked: ReturnType<typeof parseOutcomeRow>[],
	context: OutcomeContext
): Promise<RecordOutcomesResult> {
	const { results, written, corrections } = await settle(tx, recorder, checked);
	await insertVersions(tx, written, recorder, source, context.requestId);
	const counts = countOf(results);
	await recordAudit(tx, {
		actor: recorder,
		action: 'outcome.record',
		target: written.length === 1 && written[0] ? { type: 'prediction', id: written[0].predictionId } : null,
		ip: context.ip,
		requestId: context.requestId,
		details: { source, rows: checked.length, ...counts, corrections }
	});
	return { counts, results };
}

/** Each row's answer, and the versions it would write, in the order given. */
async function settle(tx: Transaction, recorder: Principal, checked: ReturnType<typeof parseOutcomeRow>[]) {
	const rows = checked.flatMap((c) => (c.ok ? [c.row] : []));
	const { byId, byApplication } = await resolveTargets(tx, recorder, rows);
	const latest = await latestVersions(tx, [...byId.keys()]);

	const results: OutcomeRowResult[] = [];
	const written: NewVersion[] = [];
	const corrections: { predictionId: string; version: number; from: Value; to: Value }[] = [];
	checked.forEach((check, index) => {
		if (!check.ok) {
			results.push(rejected(index, {}, 'invalid', 'The outcome has invalid fields.', check.fieldErrors));
			return;
		}
		const { row } = check;
		const named = { predictionId: row.predictionId, applicationId: row.applicationId };
		const matches = row.predictionId
			? [byId.get(row.predictionId)].filter((t): t is Target => t !== undefined)
			: (byApplication.get(row.applicationId ?? '') ?? []);
		if (matches.length === 0) {
			const message = row.predictionId
				? 'No prediction with this id that you may see.'
				: 'No prediction with this applicationId that you may see.';
			results.push(rejected(index, named, 'not_found', message));
			return;
		}
		if (matches.length > 1 || !matches[0]) {
			results.push(
				rejected(
					index,
					named,
					'ambiguous',
					`${matches.length} predictions have this applicationId; give the predictionId instead.`
				)
			);
			return;
		}
		const target = matches[0];
		const dateError = observedDateError(row.observedAt, target.decidedAt);
		if (dateError) {
			results.push(
				rejected(index, { ...named, predictionId: target.id }, 'invalid', 'The outcome has invalid fields.', {
					observedAt: [dateError]
				})
			);
			return;
		}
		const value = valueOf(row);
		const previous = latest.get(target.id);
		const answer = { index, predictionId: target.id, applicationId: row.applicationId };
		if (previous && sameValue(previous, value)) {
			results.push({ ...answer, status: 'unchanged', version: previous.version });
			return;
		}
		const version = (previous?.version ?? 0) + 1;
		written.push({ ...value, predictionId: target.id, version, note: row.note ?? null, target });
		if (previous)
			corrections.push({ predictionId: target.id, version, from: valueOnly(previous), to: value });
		latest.set(target.id, { ...value, version });
		results.push({ ...answer, status: previous ? 'corrected' : 'recorded', version });
	});
	return { results, written, corrections };
}

function rejected(
	index: number,
	named: { predictionId?: string; applicationId?: string },
	code: OutcomeErrorCode,
	message: string,
	fieldErrors?: FieldErrors
): OutcomeRowResult {
	const ids = Object.fromEntries(Object.entries(named).filter(([, v]) => v !== undefined));
	return { index, ...ids, status: 'rejected', error: { code, message, fieldErrors } };
}

function valueOf(row: OutcomeRow): Value {
	return { defaulted: row.defaulted, observedAt: row.observedAt, lossAmount: row.lossAmount ?? null };
}

function valueOnly(value: Value): Value {
	return { defaulted: value.defaulted, observedAt: value.observedAt, lossAmount: value.lossAmount };
}

function sameValue(a: Value, b: Value): boolean {
	return a.defaulted === b.defaulted && a.observedAt === b.observedAt && a.lossAmount === b.lossAmount;
}

function countOf(results: OutcomeRowResult[]): Record<OutcomeStatus, number> {
	const counts = { recorded: 0, corrected: 0, unchanged: 0, rejected: 0 };
	for (const result of results) counts[result.status]++;
	return counts;
}

/** The predictions the rows name that the recorder may see: by id, and by application reference. */
async function resolveTargets(tx: Transaction, recorder: Principal, rows: OutcomeRow[]) {
	const ids = [...new Set(rows.flatMap((row) => (row.predictionId ? [row.predictionId] : [])))];
	const references = [...new Set(rows.flatMap((row) => (row.applicationId ? [row.applicationId] : [])))];
	const byId = new Map<string, Target>();
	const byApplication = new Map<string, Target[]>();
	if (ids.length === 0 && references.length === 0) return { byId, byApplication };
	const scope = scopeOf(recorder);
	const named = sql`(${predictions.id} = any(${sql.param(ids)}::uuid[]) or ${predictions.applicationId} = any(${sql.param(references)}::text[]))`;
	const found = await tx
		.select({
			id: predictions.id,
			applicationId: predictions.applicationId,
			decidedAt: predictions.createdAt,
			modelId: predictions.modelId,
			modelVersion: predictions.modelVersion
		})
		.from(predictions)
		.where(scope ? sql`${named} and ${scope}` : named);
	const referenced = new Set(references);
	for (const { applicationId, ...target } of found) {
		// Every prediction found is kept by id: rows naming it by reference need its latest version too.
		byId.set(target.id, target);
		if (applicationId && referenced.has(applicationId)) {
			const list = byApplication.get(applicationId) ?? [];
			list.push(target);
			byApplication.set(applicationId, list);
		}
	}
	return { byId, byApplication };
}

/** The latest version of each prediction's outcome, in one query over the unique index. */
async function latestVersions(
	tx: Transaction,
	predictionIds: string[]
): Promise<Map<string, Value & { version: number }>> {
	const latest = new Map<string, Value & { version: number }>();
	if (predictionIds.length === 0) return latest;
	const rows = await tx
		.selectDistinctOn([outcomes.predictionId], {
			predictionId: outcomes.predictionId,
			version: outcomes.version,
			defaulted: outcomes.defaulted,
			observedAt: outcomes.observedAt,
			lossAmount: outcomes.lossAmount
		})
		.from(outcomes)
		.where(sql`${outcomes.predictionId} = any(${sql.param(predictionIds)}::uuid[])`)
		.orderBy(outcomes.predictionId, sql`${outcomes.version} desc`);
	for (const { predictionId, ...value } of rows) latest.set(predictionId, value);
	return latest;
}

/**
 * Writes the new versions in one statement, whatever their number: each column travels as one
 * array parameter (a multi-row VALUES of 10,000 rows would need 150,000 parameters, over
 * PostgreSQL's 65,535).
 */
async function insertVersions(
	tx: Transaction,
	rows: NewVersion[],
	recorder: Principal,
	source: OutcomeSource,
	requestId: string | null
): Promise<void> {
	if (rows.length === 0) return;
	const column = (pick: (row: NewVersion) => string | null) => sql.param(rows.map(pick));
	await tx.execute(sql`
		insert into ${outcomes} (prediction_id, version, defaulted, observed_at, loss_amount, note, source,
			recorded_by, recorded_by_name, request_id, model_id, model_version, decided_at)
		select r.prediction_id::uuid, r.version::int, r.defaulted::boolean, r.observed_at::date,
			r.loss_amount::numeric, r.note, ${source}::outcome_source, ${`${recorder.kind}:${recorder.id}`},
			${recorder.name}, ${requestId}, r.model_id, r.model_version, r.decided_at::timestamptz
		from unnest(
			${column((r) => r.predictionId)}::text[], ${column((r) => String(r.version))}::text[],
			${column((r) => String(r.defaulted))}::text[], ${column((r) => r.observedAt)}::text[],
			${column((r) => (r.lossAmount === null ? null : r.lossAmount.toFixed(2)))}::text[],
			${column((r) => r.note)}::text[], ${column((r) => r.target.modelId)}::text[],
			${column((r) => r.target.modelVersion)}::text[],
			${column((r) => r.target.decidedAt.toISOString())}::text[]
		) as r(prediction_id, version, defaulted, observed_at, loss_amount, note, model_id, model_version, decided_at)
	`);
}

/** Every version of a prediction's outcome, oldest first (the last is the outcome). */
export async function outcomesOf(db: Pick<Database, 'select'>, predictionId: string): Promise<OutcomeView[]> {
	const rows = await db
		.select()
		.from(outcomes)
		.where(eq(outcomes.predictionId, predictionId))
		.orderBy(asc(outcomes.version));
	return rows.map((row) => ({
		id: row.id,
		predictionId: row.predictionId,
		version: row.version,
		defaulted: row.defaulted,
		observedAt: row.observedAt,
		lossAmount: row.lossAmount,
		note: row.note,
		source: row.source,
		recordedAt: row.recordedAt.toISOString(),
		recordedBy: row.recordedBy,
		recordedByName: row.recordedByName
	}));
}

/** The versions of a prediction the caller may see. Throws `PredictionNotFound` (404) otherwise. */
export async function listOutcomes(
	db: Database,
	reader: Principal,
	predictionId: string
): Promise<OutcomeView[]> {
	const scope = scopeOf(reader);
	const visible = eq(predictions.id, predictionId.toLowerCase());
	const [prediction] = await db
		.select({ id: predictions.id })
		.from(predictions)
		.where(scope ? sql`${visible} and ${scope}` : visible)
		.limit(1);
	if (!prediction) throw new PredictionNotFound(`No prediction ${predictionId} that you may see.`);
	return outcomesOf(db, prediction.id);
}
