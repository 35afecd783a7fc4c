/**
 * Realised and estimated performance of a model's versions, per window of decision time or per
 * vintage (month of decision). See docs/performance-monitoring.md.
 *
 * Two set-based queries do the reading, whatever the number of loans: one counts the predictions
 * per (version, period, probability, decision, matured), one the matured loans with an outcome per
 * (version, period, probability, decision, band) and how many of them defaulted — the latest
 * outcome version of each prediction only. Both send counts per distinct probability, so ties stay
 * exact and the ranks (AUC, KS, deciles) are computed here from sorted groups.
 */
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { rowsOf, type Database } from '../db';
import { outcomes, predictions } from '../db/schema';
import { domainErrors } from '../errors';
import {
	aucWithInterval,
	brierScore,
	ksStatistic,
	normaliseGroups,
	type ScoreGroup
} from '../monitoring/performance/roc';
import { expectedAuc, expectedRate } from '../monitoring/performance/estimate';
import {
	bandCalibration,
	decileCalibration,
	type CalibrationRow
} from '../monitoring/performance/calibration';
import type { ModelRegistry } from './models.service';
import { isoDay } from '$lib/validation/dates';

const DAY_MS = 86_400_000;
/** More periods than this in one answer is refused: narrow the range or choose a wider window. */
export const MAX_PERIODS = 1000;
export const windowUnits = ['day', 'week', 'month'] as const;
export type WindowUnit = (typeof windowUnits)[number];

/**
 * The query: a model, optionally one version (else every version with predictions in range),
 * UTC days `from`–`to` (both inclusive) of decision, by vintage (calendar month) or by window
 * (`window`: day, week from Monday, month), and a maturity shorter than the configured one.
 */
export const performanceInput = z
	.strictObject({
		model: z
			.string()
			.trim()
			.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'Not a model id.'),
		version: z
			.string()
			.trim()
			.regex(/^[a-z0-9][a-z0-9.-]{0,63}$/, 'Not a model version.')
			.optional(),
		from: isoDay.optional().describe('First day of decision (UTC), inclusive, YYYY-MM-DD.'),
		to: isoDay.optional().describe('Last day of decision (UTC), inclusive, YYYY-MM-DD.'),
		by: z
			.enum(['vintage', 'window'], { error: 'Choose vintage or window.' })
			.default('vintage')
			.describe('vintage: one period per calendar month of decision; window: per `window`.'),
		window: z
			.enum(windowUnits, { error: 'Choose day, week or month.' })
			.default('week')
			.describe('Length of a window when by=window (weeks start on Monday, UTC).'),
		maturityMonths: z.coerce
			.number({ error: 'A whole number of months.' })
			.int('A whole number of months.')
			.min(0, 'At least 0.')
			.optional()
			.describe(
				'Months after its decision before a loan counts in realised figures; at most PERFORMANCE_MATURITY_MONTHS (its default).'
			)
	})
	.refine((q) => !q.from || !q.to || q.from <= q.to, {
		message: 'The end is before the start.',
		path: ['to']
	});
export type PerformanceQuery = z.output<typeof performanceInput>;

export interface RealisedPerformance {
	/** Matured loans with an outcome. */
	n: number;
	defaults: number;
	defaultRate: number;
	auc: { value: number; standardError: number | null; lower: number | null; upper: number | null } | null;
	gini: number | null;
	ks: number | null;
	brier: number | null;
	/** Approved loans among them, and the share of those that defaulted. */
	approved: number;
	badRateApproved: number | null;
	/** What the probabilities expected of these same loans (mean probability, expected AUC). */
	expected: { defaultRate: number | null; auc: number | null; badRateApproved: number | null };
	calibration: { bands: CalibrationRow[]; deciles: CalibrationRow[] };
}

export interface PeriodPerformance {
	/** First instant of the period (UTC), and the first after it. */
	start: string;
	end: string;
	/** Every prediction of the period (decisions before any outcome). */
	predictions: number;
	approvalRate: number | null;
	/** From the probabilities of every prediction of the period (no outcome needed). */
	estimated: { auc: number | null; defaultRate: number | null; badRateApproved: number | null };
	/** Predictions old enough to have matured, and how many of them have an outcome. */
	matured: number;
	labelled: number;
	/** Null until at least one matured loan has an outcome. */
	realised: RealisedPerformance | null;
}

export interface VersionPerformance {
	version: string;
	periods: PeriodPerformance[];
	/** The whole range as one period. */
	overall: PeriodPerformance;
}

export interface PerformanceReport {
	model: string;
	by: 'vintage' | 'window';
	window: WindowUnit | null;
	from: string | null;
	to: string | null;
	maturityMonths: number;
	/** Decisions at or before this instant had matured when the report was computed. */
	maturedBefore: string;
	generatedAt: string;
	versions: VersionPerformance[];
}

interface PredictionCountRow {
	version: string;
	period: Date | string;
	probability: number;
	decision: string;
	matured: boolean;
	n: number;
}

interface OutcomeCountRow {
	version: string;
	period: Date | string;
	probability: number;
	decision: string;
	band: string;
	n: number;
	bad: number;
}

/** `now` minus whole calendar months, in UTC (31 March − 1 month = 3 March, as JavaScript rolls). */
export function monthsBefore(now: Date, months: number): Date {
	const cutoff = new Date(now);
	cutoff.setUTCMonth(cutoff.getUTCMonth() - months);
	return cutoff;
}

function periodEnd(start: Date, unit: WindowUnit): Date {
	if (unit === 'day') return new Date(start.getTime() + DAY_MS);
	if (unit === 'week') return new Date(start.getTime() + 7 * DAY_MS);
	return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

const instant = (value: Date | string) => (value instanceof Date ? value : new Date(value));

/**
 * Realised performance per period of the model's versions and, beside it, what the probabilities
 * estimated. Throws `ModelNotFound` (404) for an unknown model or version and `ValidationFailed`
 * (400) for a maturity longer than the configured one or a range of more than 1,000 periods.
 */
export async function modelPerformance(
	db: Database,
	registry: ModelRegistry,
	query: PerformanceQuery,
	options: { maturityMonths: number; now?: Date }
): Promise<PerformanceReport> {
	const known = query.version
		? [registry.resolve(query.model, query.version)]
		: (registry.resolve(query.model), registry.versionsOf(query.model));
	const maturityMonths = query.maturityMonths ?? options.maturityMonths;
	if (maturityMonths > options.maturityMonths)
		throw domainErrors.invalid({
			maturityMonths: [`At most ${options.maturityMonths} (PERFORMANCE_MATURITY_MONTHS).`]
		});
	const now = options.now ?? new Date();
	const cutoff = monthsBefore(now, maturityMonths);
	const unit: WindowUnit = query.by === 'vintage' ? 'month' : query.window;
	const from = query.from ? new Date(`${query.from}T00:00:00Z`) : null;
	const to = query.to ? new Date(new Date(`${query.to}T00:00:00Z`).getTime() + DAY_MS) : null;
	if (from && to) {
		const approxPeriods =
			(to.getTime() - from.getTime()) /
			(unit === 'day' ? DAY_MS : unit === 'week' ? 7 * DAY_MS : 28 * DAY_MS);
		if (approxPeriods > MAX_PERIODS + 2) throw tooManyPeriods();
	}

	const [counted, labelled] = await Promise.all([
		predictionCounts(db, query, unit, from, to, cutoff),
		outcomeCounts(db, query, unit, from, to, cutoff)
	]);

	const bands = new Map(
		known.map((v) => [v.manifest.model.version, v.manifest.policy.bands.map((b) => b.name)])
	);
	const versions = [...new Set(counted.map((r) => r.version))].sort();
	const periodsSeen = new Set(counted.map((r) => `${r.version}|${instant(r.period).getTime()}`));
	if (periodsSeen.size > MAX_PERIODS) throw tooManyPeriods();

	return {
		model: query.model,
		by: query.by,
		window: query.by === 'window' ? query.window : null,
		from: query.from ?? null,
		to: query.to ?? null,
		maturityMonths,
		maturedBefore: cutoff.toISOString(),
		generatedAt: now.toISOString(),
		versions: versions.map((version) => {
			const mine = counted.filter((r) => r.version === version);
			const mineLabelled = labelled.filter((r) => r.version === version);
			const bandOrder = bands.get(version) ?? [];
			const countedBy = byPeriod(mine);
			const labelledBy = byPeriod(mineLabelled);
			const starts = [...countedBy.keys()].sort((a, b) => a - b);
			const periods = starts.map((start) => {
				const begin = new Date(start);
				return summarise(
					begin,
					periodEnd(begin, unit),
					countedBy.get(start) ?? [],
					labelledBy.get(start) ?? [],
					bandOrder
				);
			});
			const first = starts[0] ?? now.getTime();
			const last = periodEnd(new Date(starts.at(-1) ?? now.getTime()), unit);
			return {
				version,
				periods,
				overall: summarise(from ?? new Date(first), to ?? last, mine, mineLabelled, bandOrder)
			};
		})
	};
}

function byPeriod<T extends { period: Date | string }>(rows: readonly T[]): Map<number, T[]> {
	const grouped = new Map<number, T[]>();
	for (const row of rows) {
		const start = instant(row.period).getTime();
		const list = grouped.get(start);
		if (list) list.push(row);
		else grouped.set(start, [row]);
	}
	return grouped;
}

function tooManyPeriods() {
	return domainErrors.invalid({
		from: [`More than ${MAX_PERIODS} periods: narrow from–to or choose a wider window.`]
	});
}

function whereOf(
	column: { model: SQL; version: SQL; time: SQL },
	query: PerformanceQuery,
	from: Date | null,
	to: Date | null
): SQL {
	const parts = [sql`${column.model} = ${query.model}`];
	if (query.version) parts.push(sql`${column.version} = ${query.version}`);
	if (from) parts.push(sql`${column.time} >= ${from.toISOString()}::timestamptz`);
	if (to) parts.push(sql`${column.time} < ${to.toISOString()}::timestamptz`);
	return sql.join(parts, sql` and `);
}

async function predictionCounts(
	db: Database,
	query: PerformanceQuery,
	unit: WindowUnit,
	from: Date | null,
	to: Date | null,
	cutoff: Date
): Promise<PredictionCountRow[]> {
	const where = whereOf(
		{
			model: sql`${predictions.modelId}`,
			version: sql`${predictions.modelVersion}`,
			time: sql`${predictions.createdAt}`
		},
		query,
		from,
		to
	);
	const result = await db.execute(sql`
		select ${predictions.modelVersion} as version,
			date_trunc(${unit}, ${predictions.createdAt}, 'UTC') as period,
			${predictions.probability} as probability, ${predictions.decision}::text as decision,
			(${predictions.createdAt} <= ${cutoff.toISOString()}::timestamptz) as matured,
			count(*)::int as n
		from ${predictions}
		where ${where}
		group by 1, 2, 3, 4, 5`);
	return rowsOf<PredictionCountRow>(result);
}

async function outcomeCounts(
	db: Database,
	query: PerformanceQuery,
	unit: WindowUnit,
	from: Date | null,
	to: Date | null,
	cutoff: Date
): Promise<OutcomeCountRow[]> {
	const where = whereOf(
		{ model: sql`o.model_id`, version: sql`o.model_version`, time: sql`o.decided_at` },
		query,
		from,
		to
	);
	// The latest version of each matured prediction's outcome (`outcomes_model_decided_idx`
	// narrows to the model, version and decision range), joined to its prediction by primary key.
	const result = await db.execute(sql`
		with latest as (
			select distinct on (o.prediction_id) o.prediction_id, o.defaulted
			from ${outcomes} o
			where ${where} and o.decided_at <= ${cutoff.toISOString()}::timestamptz
			order by o.prediction_id, o.version desc
		)
		select p.model_version as version, date_trunc(${unit}, p.created_at, 'UTC') as period,
			p.probability as probability, p.decision::text as decision, p.band as band,
			count(*)::int as n, (count(*) filter (where l.defaulted))::int as bad
		from latest l join ${predictions} p on p.id = l.prediction_id
		group by 1, 2, 3, 4, 5`);
	return rowsOf<OutcomeCountRow>(result);
}

function ratio(part: number, whole: number): number | null {
	return whole === 0 ? null : part / whole;
}

function summarise(
	start: Date,
	end: Date,
	counted: readonly PredictionCountRow[],
	labelled: readonly OutcomeCountRow[],
	bandOrder: readonly string[]
): PeriodPerformance {
	const all = normaliseGroups(counted.map((r) => ({ score: Number(r.probability), count: r.n, bad: 0 })));
	const approvedAll = normaliseGroups(
		counted
			.filter((r) => r.decision === 'approve')
			.map((r) => ({ score: Number(r.probability), count: r.n, bad: 0 }))
	);
	const total = counted.reduce((sum, r) => sum + r.n, 0);
	const approvedTotal = approvedAll.reduce((sum, g) => sum + g.count, 0);
	const matured = counted.filter((r) => r.matured).reduce((sum, r) => sum + r.n, 0);
	const realised = realisedOf(labelled, bandOrder);
	return {
		start: start.toISOString(),
		end: end.toISOString(),
		predictions: total,
		approvalRate: ratio(approvedTotal, total),
		estimated: {
			auc: expectedAuc(all),
			defaultRate: expectedRate(all),
			badRateApproved: expectedRate(approvedAll)
		},
		matured,
		labelled: realised?.n ?? 0,
		realised
	};
}

function realisedOf(
	rows: readonly OutcomeCountRow[],
	bandOrder: readonly string[]
): RealisedPerformance | null {
	if (rows.length === 0) return null;
	const group = (r: OutcomeCountRow): ScoreGroup => ({
		score: Number(r.probability),
		count: r.n,
		bad: r.bad
	});
	const groups = normaliseGroups(rows.map(group));
	const approvedGroups = normaliseGroups(rows.filter((r) => r.decision === 'approve').map(group));
	const byBand = new Map<string, ScoreGroup[]>();
	for (const r of rows) {
		const list = byBand.get(r.band);
		if (list) list.push(group(r));
		else byBand.set(r.band, [group(r)]);
	}
	const n = groups.reduce((sum, g) => sum + g.count, 0);
	const defaults = groups.reduce((sum, g) => sum + g.bad, 0);
	const approved = approvedGroups.reduce((sum, g) => sum + g.count, 0);
	const approvedBad = approvedGroups.reduce((sum, g) => sum + g.bad, 0);
	const auc = aucWithInterval(groups);
	return {
		n,
		defaults,
		defaultRate: defaults / n,
		auc,
		gini: auc ? 2 * auc.value - 1 : null,
		ks: ksStatistic(groups),
		brier: brierScore(groups),
		approved,
		badRateApproved: ratio(approvedBad, approved),
		expected: {
			defaultRate: expectedRate(groups),
			auc: expectedAuc(groups),
			badRateApproved: expectedRate(approvedGroups)
		},
		calibration: {
			bands: bandCalibration(
				bandOrder,
				new Map([...byBand].map(([band, list]) => [band, normaliseGroups(list)]))
			),
			deciles: decileCalibration(groups)
		}
	};
}
