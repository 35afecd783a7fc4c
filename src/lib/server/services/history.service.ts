/**
 * The history of decisions: every stored prediction, searched by time, decision, band, model,
 * requester, or id (of the prediction, request, batch, or the caller's application reference), newest first with keyset pagination on (created_at, id) — the same shape as the
 * audit log, served by the predictions table's (…, created_at) indexes. And one prediction in
 * full, with its stored explanation, readable even when its model version is no longer loaded.
 */
import { and, desc, eq, gte, inArray, like, lt, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Manifest } from '$inference/manifest';
import { isoDay, withinRange } from '$lib/validation/dates';
import { toFieldErrors } from '$lib/validation/field-errors';
import { fieldsWithNul } from '$lib/validation/nul';
import type { Database } from '../db';
import {
	decisionReviews,
	decisions,
	predictions,
	serviceAccounts,
	users,
	type Decision,
	type FinalDecision,
	type StoredReason
} from '../db/schema';
import { PredictionNotFound, ValidationFailed } from '../errors';
import { recordAudit, type AuditActor } from './audit.service';
import type { ModelRegistry } from './models.service';
import { outcomesOf, type OutcomeView } from './outcomes.service';
import { reviewsOf, type ReviewView } from './reviews.service';
import { storedShap } from './stored-shap';

const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const day = isoDay.transform((value) => new Date(`${value}T00:00:00Z`));

/** Blank URL parameters mean "no filter". */
const optional = <T extends z.ZodType>(schema: T) =>
	z.preprocess(
		(value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
		schema.optional()
	);

/**
 * Filters of the history, as URL search parameters or a tRPC input. Days are UTC; `to` is
 * inclusive. `requester` is part of a person's e-mail or name or of a service account's name
 * (any case), or a stored `user:<id>` / `service:<id>`; `q` is a prediction, request, batch or application id.
 */
export const historyQuerySchema = z
	.object({
		from: optional(day),
		to: optional(day),
		decision: optional(z.enum(decisions, { error: 'Choose approve, review or decline.' })),
		band: optional(
			z
				.string()
				.trim()
				.regex(/^[A-Za-z0-9_-]{1,16}$/, 'Not a risk band name.')
		),
		model: optional(
			z
				.string()
				.trim()
				.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'Not a model id.')
		),
		version: optional(
			z
				.string()
				.trim()
				.regex(/^[a-z0-9][a-z0-9.-]{0,63}$/, 'Not a model version.')
		),
		requester: optional(z.string().trim().min(1).max(320)),
		q: optional(
			z
				.string()
				.trim()
				.max(128, 'At most 128 characters.')
				.regex(
					/^[A-Za-z0-9._:/#-]+$/,
					'A prediction, request, batch or application id: letters, digits and . _ : / # - only.'
				)
		),
		limit: z.coerce.number().int().min(1).max(200).default(50),
		/** `nextCursor` of the previous page; absent for the first (newest) page. */
		cursor: optional(z.string().max(200))
	})
	.refine((f) => !f.from || !f.to || f.to >= f.from, {
		message: 'The end is before the start.',
		path: ['to']
	})
	.refine((f) => !f.version || f.model, { message: 'Choose the model of this version.', path: ['model'] });

export type HistoryQuery = z.input<typeof historyQuerySchema>;
/** Validated filters (the output of {@link historyQuerySchema}). */
export type HistoryFilters = z.output<typeof historyQuerySchema>;

export interface HistoryRow {
	id: string;
	createdAt: Date;
	modelId: string;
	modelVersion: string;
	probability: number;
	points: number;
	band: string;
	decision: Decision;
	requester: string;
	/** The person's or service account's name, when it still exists. */
	requesterName: string | null;
	channel: string;
	requestId: string;
	batchId: string | null;
	/** The caller's reference of the application, when given. */
	applicationId: string | null;
	/** A reviewer's latest final decision, when one was recorded (the model's stays in `decision`). */
	finalDecision: FinalDecision | null;
	/** Reason codes, strongest first. */
	reasonCodes: string[];
}

export interface HistoryPage {
	rows: HistoryRow[];
	/** Pass as `cursor` for the next (older) page; null on the last page. */
	nextCursor: string | null;
}

/** Validates filters, e.g. a page's URL search parameters; throws `ValidationFailed` (400). */
export function parseHistoryQuery(query: HistoryQuery): HistoryFilters {
	// tRPC refuses NUL before a procedure runs; callers that are not procedures get the same answer.
	const withNul = fieldsWithNul(query);
	if (withNul.length > 0)
		throw new ValidationFailed(
			Object.fromEntries(withNul.map((field) => [field, ['Must not contain a NUL character (U+0000).']]))
		);
	const parsed = historyQuerySchema.safeParse(query);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	return parsed.data;
}

/**
 * Reads the history newest first. Throws `ValidationFailed` (400) for an unknown requester or a
 * bad cursor.
 */
export async function listPredictions(db: Database, f: HistoryFilters): Promise<HistoryPage> {
	const position = f.cursor === undefined ? undefined : decodeCursor(f.cursor);
	const conditions = await filterConditions(db, f);
	// The cursor carries created_at to the microsecond (a JS Date keeps milliseconds only).
	if (position)
		conditions.push(
			sql`(${predictions.createdAt}, ${predictions.id}) < (${position.at}::timestamptz, ${position.id}::uuid)`
		);

	const rows = await db
		.select({
			id: predictions.id,
			createdAt: predictions.createdAt,
			exactAt: sql<string>`${EXACT_AT}`,
			modelId: predictions.modelId,
			modelVersion: predictions.modelVersion,
			probability: predictions.probability,
			points: predictions.points,
			band: predictions.band,
			decision: predictions.decision,
			requester: predictions.requester,
			channel: predictions.channel,
			requestId: predictions.requestId,
			batchId: predictions.batchId,
			applicationId: predictions.applicationId,
			finalDecision: sql<FinalDecision | null>`(
				select r.decision from ${decisionReviews} r where r.prediction_id = ${sql.raw('"predictions"."id"')}
				order by r.created_at desc, r.id desc limit 1)`,
			reasons: predictions.reasons
		})
		.from(predictions)
		.where(and(...conditions))
		.orderBy(desc(predictions.createdAt), desc(predictions.id))
		.limit(f.limit + 1);

	const page = rows.slice(0, f.limit);
	const names = await requesterNames(
		db,
		page.map((row) => row.requester)
	);
	const last = page.at(-1);
	return {
		rows: page.map(({ exactAt: _exactAt, reasons, ...row }) => ({
			...row,
			requesterName: names.get(row.requester) ?? null,
			reasonCodes: reasons.map((reason) => reason.code)
		})),
		nextCursor: rows.length > f.limit && last ? encodeCursor(last.exactAt, last.id) : null
	};
}

/** The WHERE conditions of the filters (the cursor aside). */
async function filterConditions(db: Database, f: HistoryFilters): Promise<SQL[]> {
	const conditions: SQL[] = [];
	if (f.from) conditions.push(gte(predictions.createdAt, f.from));
	// The end day is inclusive: everything before the next midnight (UTC).
	if (f.to) conditions.push(lt(predictions.createdAt, new Date(f.to.getTime() + DAY_MS)));
	if (f.decision) conditions.push(eq(predictions.decision, f.decision));
	if (f.band) conditions.push(eq(predictions.band, f.band));
	if (f.model) conditions.push(eq(predictions.modelId, f.model));
	if (f.version) conditions.push(eq(predictions.modelVersion, f.version));
	if (f.requester) conditions.push(inArray(predictions.requester, await matchingRequesters(db, f.requester)));
	if (f.q) {
		const byId = UUID.test(f.q)
			? [eq(predictions.id, f.q.toLowerCase()), eq(predictions.batchId, f.q.toLowerCase())]
			: [];
		conditions.push(or(eq(predictions.requestId, f.q), eq(predictions.applicationId, f.q), ...byId) as SQL);
	}
	return conditions;
}

/** Counting stops here: past it the page says "more than". */
export const HISTORY_COUNT_CAP = 100_000;

/** How many stored decisions match the filters, counted up to {@link HISTORY_COUNT_CAP}. */
export async function countPredictions(
	db: Database,
	f: HistoryFilters
): Promise<{ total: number; capped: boolean }> {
	const conditions = await filterConditions(db, f);
	const inner = db
		.select({ one: sql`1` })
		.from(predictions)
		.where(and(...conditions))
		.limit(HISTORY_COUNT_CAP + 1)
		.as('matching');
	const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(inner);
	const n = Number(row?.n ?? 0);
	return { total: Math.min(n, HISTORY_COUNT_CAP), capped: n > HISTORY_COUNT_CAP };
}

/** The most rows one CSV export holds; narrow the filters for more. */
export const HISTORY_EXPORT_MAX = 100_000;
const EXPORT_PAGE = 1_000;

/** The matching decisions, newest first, a page at a time, at most {@link HISTORY_EXPORT_MAX}. */
export async function* matchingPredictions(db: Database, f: HistoryFilters): AsyncGenerator<HistoryRow[]> {
	let cursor: string | undefined;
	let left = HISTORY_EXPORT_MAX;
	while (left > 0) {
		const page = await listPredictions(db, { ...f, cursor, limit: Math.min(EXPORT_PAGE, left) });
		if (page.rows.length > 0) yield page.rows;
		left -= page.rows.length;
		if (!page.nextCursor) return;
		cursor = page.nextCursor;
	}
}

/** Columns of the history CSV, in order. */
export const HISTORY_CSV_COLUMNS = [
	'prediction_id',
	'created_at',
	'model',
	'version',
	'probability',
	'points',
	'band',
	'decision',
	'final_decision',
	'requester',
	'requester_name',
	'channel',
	'application_id',
	'request_id',
	'batch_id',
	'reason_codes'
] as const;

/** One CSV line's values of a history row (reason codes joined by spaces). */
export function historyCsvRecord(row: HistoryRow): (string | number)[] {
	return [
		row.id,
		row.createdAt.toISOString(),
		row.modelId,
		row.modelVersion,
		row.probability,
		row.points,
		row.band,
		row.decision,
		row.finalDecision ?? '',
		row.requester,
		row.requesterName ?? '',
		row.channel,
		row.applicationId ?? '',
		row.requestId,
		row.batchId ?? '',
		row.reasonCodes.join(' ')
	];
}

/** Records that `caller` exported the history matching `query` (a `data.export` audit entry). */
export async function auditHistoryExport(
	db: Database,
	caller: AuditActor,
	query: Record<string, string>,
	context: { ip: string | null; requestId: string | null }
): Promise<void> {
	await recordAudit(db, {
		actor: caller,
		action: 'data.export',
		target: { type: 'history', id: 'predictions' },
		ip: context.ip,
		requestId: context.requestId,
		details: { export: 'history', format: 'csv', filters: query, maxRows: HISTORY_EXPORT_MAX }
	});
}

/** One input of a stored prediction, labelled from the manifest when its version is loaded. */
export interface DetailInput {
	name: string;
	label: string;
	/** Stored value: number, category code, or null (missing). */
	value: number | string | null;
	/** The category's label (or the value itself). */
	display: string;
	unit: string | null;
	description: string | null;
}

export interface PredictionDetail {
	id: string;
	createdAt: Date;
	model: { id: string; version: string; name: string | null; loaded: boolean };
	probability: number;
	points: number;
	band: { name: string; label: string | null };
	decision: Decision;
	/** The model version's cut-offs, when it is loaded. */
	cutoffs: { approveBelow: number; declineAtOrAbove: number } | null;
	reasons: (StoredReason & { label: string })[];
	inputs: DetailInput[];
	/** Stored SHAP (log-odds), strongest first; null when the prediction was stored without it. */
	explanation: {
		baseValue: number;
		margin: number;
		contributions: { feature: string; label: string; display: string; shap: number }[];
	} | null;
	requester: string;
	requesterName: string | null;
	channel: string;
	requestId: string;
	batchId: string | null;
	/** The caller's reference of the application, when given. */
	applicationId: string | null;
	latencyMs: number;
	/** Human reviews, oldest first: the last is the final decision. */
	reviews: ReviewView[];
	/** Versions of the realised outcome, oldest first: the last is the outcome. */
	outcomes: OutcomeView[];
}

/** One stored prediction in full. Throws `PredictionNotFound` (404). */
export async function getPrediction(
	db: Database,
	registry: ModelRegistry,
	id: string
): Promise<PredictionDetail> {
	if (!UUID.test(id)) throw new PredictionNotFound(`No prediction ${id}.`);
	const [stored] = await db.select().from(predictions).where(eq(predictions.id, id.toLowerCase())).limit(1);
	if (!stored) throw new PredictionNotFound(`No prediction ${id}.`);
	const manifest = manifestOf(registry, stored.modelId, stored.modelVersion);
	const inputs = describeInputs(manifest, stored.input);
	const byName = new Map(inputs.map((input) => [input.name, input]));
	const names = await requesterNames(db, [stored.requester]);
	const shap = storedShap(stored);
	return {
		id: stored.id,
		createdAt: stored.createdAt,
		model: {
			id: stored.modelId,
			version: stored.modelVersion,
			name: manifest?.model.name ?? null,
			loaded: manifest !== null
		},
		probability: stored.probability,
		points: stored.points,
		band: {
			name: stored.band,
			label: manifest?.policy.bands.find((band) => band.name === stored.band)?.label ?? null
		},
		decision: stored.decision,
		cutoffs: manifest?.policy.cutoffs ?? null,
		reasons: stored.reasons.map((reason) => ({
			...reason,
			label: byName.get(reason.feature)?.label ?? reason.feature
		})),
		inputs,
		explanation: shap
			? {
					baseValue: stored.baseValue ?? 0,
					margin: stored.margin,
					contributions: Object.entries(shap)
						.map(([feature, shap]) => ({
							feature,
							label: byName.get(feature)?.label ?? feature,
							display: byName.get(feature)?.display ?? '—',
							shap
						}))
						.sort((a, b) => Math.abs(b.shap) - Math.abs(a.shap))
				}
			: null,
		requester: stored.requester,
		requesterName: names.get(stored.requester) ?? null,
		channel: stored.channel,
		requestId: stored.requestId,
		batchId: stored.batchId,
		applicationId: stored.applicationId,
		latencyMs: stored.latencyMs,
		reviews: await reviewsOf(db, stored.id),
		outcomes: await outcomesOf(db, stored.id)
	};
}

/** Models, versions and band names to offer in the history's filters. */
export function historyFilterOptions(registry: ModelRegistry) {
	const versions = registry
		.all()
		.map((v) => ({ model: v.manifest.model.id, version: v.manifest.model.version }));
	const bands = [
		...new Set(registry.all().flatMap((v) => v.manifest.policy.bands.map((b) => b.name)))
	].sort();
	return { models: registry.modelIds(), versions, bands, decisions: [...decisions] };
}

function manifestOf(registry: ModelRegistry, id: string, version: string): Manifest | null {
	return registry.versionsOf(id).find((v) => v.manifest.model.version === version)?.manifest ?? null;
}

function describeInputs(
	manifest: Manifest | null,
	input: Record<string, number | string | null>
): DetailInput[] {
	const display = (value: number | string | null, labels?: Record<string, string> | null) =>
		value === null
			? 'missing'
			: typeof value === 'string'
				? (labels?.[value] ?? value)
				: value.toLocaleString('en-US', { maximumFractionDigits: 6 });
	if (!manifest) {
		// The version is gone: show what was stored, by its raw names.
		return Object.entries(input).map(([name, value]) => ({
			name,
			label: name,
			value,
			display: display(value),
			unit: null,
			description: null
		}));
	}
	return manifest.features.map((feature) => {
		const value = input[feature.name] ?? null;
		return {
			name: feature.name,
			label: feature.label,
			value,
			display: display(value, feature.categoryLabels),
			unit: feature.unit,
			description: feature.description
		};
	});
}

/** `user:<id>` and `service:<id>` → the person's or service account's current name. */
async function requesterNames(db: Database, requesters: string[]): Promise<Map<string, string>> {
	const userIds = new Set<string>();
	const serviceIds = new Set<string>();
	for (const requester of requesters) {
		const [kind, id] = splitRequester(requester);
		if (kind === 'user' && id) userIds.add(id);
		if (kind === 'service' && id && UUID.test(id)) serviceIds.add(id);
	}
	const names = new Map<string, string>();
	if (userIds.size > 0) {
		const found = await db
			.select({ id: users.id, name: users.name })
			.from(users)
			.where(inArray(users.id, [...userIds]));
		for (const user of found) names.set(`user:${user.id}`, user.name);
	}
	if (serviceIds.size > 0) {
		const found = await db
			.select({ id: serviceAccounts.id, name: serviceAccounts.name })
			.from(serviceAccounts)
			.where(inArray(serviceAccounts.id, [...serviceIds]));
		for (const account of found) names.set(`service:${account.id}`, account.name);
	}
	return names;
}

function splitRequester(requester: string): [string, string] {
	const at = requester.indexOf(':');
	return at < 0 ? ['', requester] : [requester.slice(0, at), requester.slice(at + 1)];
}

/** At most this many people and service accounts match a requester search. */
const REQUESTER_MATCHES = 200;

/**
 * The stored requesters a search names: a stored `user:<id>` / `service:<id>` as it is, else every
 * person whose e-mail or name and every service account whose name contains the text (any case).
 */
async function matchingRequesters(db: Database, value: string): Promise<string[]> {
	if (/^(user|service):/.test(value)) return [value];
	const pattern = `%${value.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
	const [people, accounts] = await Promise.all([
		db
			.select({ id: users.id })
			.from(users)
			.where(or(like(sql`lower(${users.email})`, pattern), like(sql`lower(${users.name})`, pattern)))
			.limit(REQUESTER_MATCHES),
		db
			.select({ id: serviceAccounts.id })
			.from(serviceAccounts)
			.where(like(sql`lower(${serviceAccounts.name})`, pattern))
			.limit(REQUESTER_MATCHES)
	]);
	const found = [...people.map((p) => `user:${p.id}`), ...accounts.map((a) => `service:${a.id}`)];
	if (found.length > 0) return found;
	throw new ValidationFailed({
		requester: [`No person or service account matches “${value}” (part of an e-mail address or a name).`]
	});
}

/** `created_at` as an ISO string with microseconds, independent of the session's settings. */
const EXACT_AT = sql`to_char(${predictions.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

// A cursor is made here, but comes back from the client: its position must be one the database holds.
const cursorSchema = z.tuple([z.iso.datetime({ precision: 6 }).refine(withinRange), z.uuid()]);

function encodeCursor(at: string, id: string): string {
	return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
	try {
		const [at, id] = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
		return { at, id };
	} catch {
		throw new ValidationFailed({ cursor: ['Invalid cursor; pass nextCursor of the previous page.'] });
	}
}
