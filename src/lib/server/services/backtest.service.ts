/**
 * Backtests (docs/models.md, "Backtest"): the stored applications of a model decided in a period,
 * replayed through any registered version of it in the background (`backtest-runner.ts`), then
 * compared with the decisions recorded, with the same figures as a shadow comparison.
 *
 * Starting one checks the request, counts the period's applications (at most
 * {@link MAX_BACKTEST_APPLICATIONS}) and queues a row with an audit entry; the runner of whichever
 * instance claims the row does the scoring.
 */
import { and, count, desc, eq, gte, inArray, lt } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db';
import { backtests, predictions, type BacktestRow, type BacktestStatus } from '../db/schema';
import { ModelNotFound, NotFound, ValidationFailed, Conflict } from '../errors';
import { toFieldErrors } from '../../validation/field-errors';
import { recordAudit, type AuditActor } from './audit.service';
import type { ModelRegistry } from './models.service';
import {
	compareRows,
	MAX_COMPARED,
	readComparedRows,
	type ComparisonFigures
} from './shadow-comparison.service';

/** Most applications one backtest replays (all of them are compared: {@link MAX_COMPARED}). */
export const MAX_BACKTEST_APPLICATIONS = MAX_COMPARED;
/** Backtests listed per model, newest first. */
const LIST_LIMIT = 50;
const EARLIEST = Date.UTC(2000, 0, 1);

const model = z
	.string({ error: 'Name the model.' })
	.min(1, 'Name the model.')
	.max(64, 'At most 64 characters.');
const id = z.uuid({ error: 'Not a backtest id.' });
const instant = z.iso.datetime({ offset: true, error: 'Not an ISO 8601 date-time.' });
const reason = z
	.string({ error: 'Give the reason for this backtest.' })
	.trim()
	.min(3, 'Give the reason for this backtest (at least 3 characters).')
	.max(2000, 'At most 2,000 characters.');

export const startBacktestInputSchema = z.strictObject({
	model,
	version: z
		.string({ error: 'Name the version.' })
		.min(1, 'Name the version.')
		.max(64, 'At most 64 characters.')
		.describe('The candidate: any registered version of the model that is not retired.'),
	from: instant.describe('Start of the period (inclusive), on the decisions’ time.'),
	to: instant.describe('End of the period (exclusive); not in the future.'),
	reason
});
export type StartBacktestInput = z.input<typeof startBacktestInputSchema>;

export const backtestRefSchema = z.strictObject({ model, id });
export const listBacktestsInputSchema = z.strictObject({ model });
export const cancelBacktestInputSchema = z.strictObject({ model, id, reason });

export interface BacktestView {
	id: string;
	model: string;
	version: string;
	from: string;
	to: string;
	status: BacktestStatus;
	/** Applications in the period. */
	total: number;
	/** Of them, replayed so far (skipped ones included). */
	done: number;
	/** Of those, refused by the candidate's manifest (no result). */
	skipped: number;
	/** done / total, 1 for an empty period. */
	progress: number;
	requestedBy: string;
	reason: string;
	instance: string | null;
	error: string | null;
	createdAt: string;
	startedAt: string | null;
	finishedAt: string | null;
}

export type BacktestComparison = ComparisonFigures & {
	backtest: BacktestView;
	model: string;
	/** The candidate version (its figures are the comparison's `shadow` ones). */
	version: string;
};

export interface BacktestDeps {
	db: Database;
	models: ModelRegistry;
	/** Told when a backtest was queued (the local runner looks at once). */
	onQueued?: () => void;
}

export function backtestView(row: BacktestRow): BacktestView {
	return {
		id: row.id,
		model: row.modelId,
		version: row.version,
		from: row.from.toISOString(),
		to: row.to.toISOString(),
		status: row.status,
		total: row.total,
		done: row.done,
		skipped: row.skipped,
		progress: row.total > 0 ? Math.min(1, row.done / row.total) : 1,
		requestedBy: row.requestedBy,
		reason: row.reason,
		instance: row.instance,
		error: row.error,
		createdAt: row.createdAt.toISOString(),
		startedAt: row.startedAt?.toISOString() ?? null,
		finishedAt: row.finishedAt?.toISOString() ?? null
	};
}

/** Field errors of a schema failure, by field. */
function invalid(error: z.ZodError): ValidationFailed {
	return new ValidationFailed(toFieldErrors(error.issues));
}

/**
 * Queues a backtest. 404 for an unknown model; 400, by field, for an unknown or retired version,
 * a bad period (from not before to, before 2000, to in the future), a period with no stored
 * application or more than {@link MAX_BACKTEST_APPLICATIONS}, a missing reason.
 */
export async function startBacktest(
	deps: BacktestDeps,
	actor: AuditActor,
	rawInput: unknown,
	context: { ip?: string | null; requestId?: string | null } = {},
	now = Date.now()
): Promise<BacktestView> {
	const parsed = startBacktestInputSchema.safeParse(rawInput);
	if (!parsed.success) throw invalid(parsed.error);
	const input = parsed.data;
	const champion = deps.models.resolve(input.model);
	const modelId = champion.manifest.model.id;
	const errors: Record<string, string[]> = {};
	if (!deps.models.has(modelId, input.version)) {
		const known = deps.models.versionsOf(modelId).map((v) => v.manifest.model.version);
		errors.version = [`No version "${input.version}" of ${modelId}. Versions: ${known.sort().join(', ')}.`];
	} else if (deps.models.resolve(modelId, input.version).status === 'retired') {
		errors.version = [`${modelId}@${input.version} is retired; a retired version is not backtested.`];
	}
	const fromMs = Date.parse(input.from);
	const toMs = Date.parse(input.to);
	if (fromMs < EARLIEST) errors.from = ['Must be on or after 2000-01-01.'];
	if (toMs > now) errors.to = ['Must not be in the future.'];
	if (!errors.from && !errors.to && fromMs >= toMs) errors.from = ['Must be before to.'];
	if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);

	const from = new Date(fromMs);
	const to = new Date(toMs);
	const inPeriod = and(
		eq(predictions.modelId, modelId),
		gte(predictions.createdAt, from),
		lt(predictions.createdAt, to)
	);
	const capped = deps.db
		.select({ id: predictions.id })
		.from(predictions)
		.where(inPeriod)
		.limit(MAX_BACKTEST_APPLICATIONS + 1)
		.as('capped');
	const [{ total } = { total: 0 }] = await deps.db.select({ total: count() }).from(capped);
	if (total === 0) {
		throw new ValidationFailed({ from: [`No stored application of ${modelId} in this period.`] });
	}
	if (total > MAX_BACKTEST_APPLICATIONS) {
		throw new ValidationFailed({
			to: [
				`The period holds more than ${MAX_BACKTEST_APPLICATIONS.toLocaleString('en')} applications; a backtest replays at most that many. Shorten it.`
			]
		});
	}
	const row = await deps.db.transaction(async (tx) => {
		const [created] = await tx
			.insert(backtests)
			.values({
				modelId,
				version: input.version,
				from,
				to,
				total,
				requestedBy: actor.name ?? actor.id ?? actor.kind,
				reason: input.reason,
				createdAt: new Date(now)
			})
			.returning();
		if (!created) throw new Error('backtest row not returned');
		await recordAudit(tx, {
			actor,
			action: 'model.backtest',
			target: { type: 'model', id: modelId },
			ip: context.ip ?? null,
			requestId: context.requestId ?? null,
			details: {
				backtest: created.id,
				version: input.version,
				from: from.toISOString(),
				to: to.toISOString(),
				total,
				reason: input.reason
			}
		});
		return created;
	});
	deps.onQueued?.();
	return backtestView(row);
}

/** The model's backtests, newest first; 404 for an unknown model. */
export async function listBacktests(deps: BacktestDeps, rawInput: unknown): Promise<BacktestView[]> {
	const parsed = listBacktestsInputSchema.safeParse(rawInput);
	if (!parsed.success) throw invalid(parsed.error);
	const modelId = deps.models.resolve(parsed.data.model).manifest.model.id;
	const rows = await deps.db
		.select()
		.from(backtests)
		.where(eq(backtests.modelId, modelId))
		.orderBy(desc(backtests.createdAt))
		.limit(LIST_LIMIT);
	return rows.map(backtestView);
}

async function find(deps: BacktestDeps, rawInput: unknown): Promise<BacktestRow> {
	const parsed = backtestRefSchema.safeParse(rawInput);
	if (!parsed.success) throw invalid(parsed.error);
	const modelId = deps.models.resolve(parsed.data.model).manifest.model.id;
	const [row] = await deps.db
		.select()
		.from(backtests)
		.where(and(eq(backtests.id, parsed.data.id), eq(backtests.modelId, modelId)));
	if (!row) throw new NotFound(`No backtest ${parsed.data.id} of ${modelId}.`);
	return row;
}

/** One backtest with its progress; 404 when unknown (or of another model). */
export async function getBacktest(deps: BacktestDeps, rawInput: unknown): Promise<BacktestView> {
	return backtestView(await find(deps, rawInput));
}

/**
 * The candidate's answers against the recorded decisions, over the results stored so far (all of
 * them once completed); the same figures as a shadow comparison, the champion's reference score
 * bins for the PSI.
 */
export async function compareBacktest(deps: BacktestDeps, rawInput: unknown): Promise<BacktestComparison> {
	const row = await find(deps, rawInput);
	const champion = deps.models.resolve(row.modelId);
	let candidate;
	try {
		candidate = deps.models.resolve(row.modelId, row.version);
	} catch (error) {
		if (error instanceof ModelNotFound) {
			throw new Conflict(`${row.modelId}@${row.version} is not loaded on this instance.`);
		}
		throw error;
	}
	const { rows, truncated } = await readComparedRows(deps.db, { kind: 'backtest', backtestId: row.id });
	return {
		backtest: backtestView(row),
		model: row.modelId,
		version: row.version,
		...compareRows(deps.models, champion, candidate, rows, truncated)
	};
}

/** Stops a queued or running backtest (its results so far stay); 409 once it has finished. */
export async function cancelBacktest(
	deps: BacktestDeps,
	actor: AuditActor,
	rawInput: unknown,
	context: { ip?: string | null; requestId?: string | null } = {}
): Promise<BacktestView> {
	const parsed = cancelBacktestInputSchema.safeParse(rawInput);
	if (!parsed.success) throw invalid(parsed.error);
	const existing = await find(deps, { model: parsed.data.model, id: parsed.data.id });
	return deps.db.transaction(async (tx) => {
		const [row] = await tx
			.update(backtests)
			.set({ status: 'cancelled', finishedAt: new Date() })
			.where(and(eq(backtests.id, existing.id), inArray(backtests.status, ['queued', 'running'])))
			.returning();
		if (!row) throw new Conflict(`Backtest ${existing.id} has finished (${existing.status}).`);
		await recordAudit(tx, {
			actor,
			action: 'model.backtest_cancel',
			target: { type: 'model', id: row.modelId },
			ip: context.ip ?? null,
			requestId: context.requestId ?? null,
			details: { backtest: row.id, version: row.version, done: row.done, reason: parsed.data.reason }
		});
		return backtestView(row);
	});
}
