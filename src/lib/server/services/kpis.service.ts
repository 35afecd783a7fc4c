/**
 * Decision KPIs for executives: per product (model) and overall, over a period and the period of
 * the same length just before it — volume, approval / review / decline rates and the expected
 * default rate of the approved book (the mean probability of default of the approved decisions).
 * One grouped query over `predictions` (indexed by creation time); nothing is sampled.
 *
 * The model's decision counts, not a later human review: these are the model's figures.
 */
import { and, gte, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { toFieldErrors } from '$lib/validation/field-errors';
import type { Database } from '../db';
import { predictions } from '../db/schema';
import { ValidationFailed } from '../errors';
import type { ModelRegistry } from './models.service';

const DAY_MS = 86_400_000;
/** The default period: the last 30 days. */
export const DEFAULT_KPI_DAYS = 30;
const MAX_KPI_DAYS = 366;

/** A time PostgreSQL and JavaScript both hold: years 1900 to 2999. */
const instant = (name: string) =>
	z.coerce
		.date({ error: `Not a date: give ${name} as an ISO 8601 date or time.` })
		.refine(
			(d) => d.getUTCFullYear() >= 1900 && d.getUTCFullYear() <= 2999,
			'Give a date between 1900 and 2999.'
		);

/** The period: `from` and `to` (ISO 8601); by default the 30 days up to now. */
export const kpiQuerySchema = z.strictObject({
	from: instant('from').optional(),
	to: instant('to').optional()
});

/** The period asked for, with its defaults; `ValidationFailed` when it is empty or too long. */
function periodOf(query: z.output<typeof kpiQuerySchema>): { from: Date; to: Date } {
	const to = query.to ?? new Date();
	const from = query.from ?? new Date(to.getTime() - DEFAULT_KPI_DAYS * DAY_MS);
	if (from >= to) throw new ValidationFailed({ to: ['Give a `to` after `from`.'] });
	if (to.getTime() - from.getTime() > MAX_KPI_DAYS * DAY_MS)
		throw new ValidationFailed({ from: [`At most ${MAX_KPI_DAYS} days between from and to.`] });
	return { from, to };
}
export type KpiQuery = z.input<typeof kpiQuerySchema>;

/** The figures of one period. Rates are shares of `decisions`; null when there were none. */
export interface PeriodFigures {
	decisions: number;
	approved: number;
	referred: number;
	declined: number;
	approvalRate: number | null;
	reviewRate: number | null;
	declineRate: number | null;
	/** Mean probability of default of the approved decisions: the book's expected default rate. */
	expectedDefaultRateApproved: number | null;
}

export interface KpiRow {
	/** The model id, or `null` for all products together. */
	model: string | null;
	label: string;
	current: PeriodFigures;
	previous: PeriodFigures;
}

export interface KpiSummary {
	period: { from: string; to: string };
	previousPeriod: { from: string; to: string };
	overall: KpiRow;
	products: KpiRow[];
}

interface Counts {
	decisions: number;
	approved: number;
	referred: number;
	declined: number;
	/** Sum of the approved decisions' probabilities. */
	approvedPdSum: number;
}

const empty = (): Counts => ({ decisions: 0, approved: 0, referred: 0, declined: 0, approvedPdSum: 0 });

/** The KPIs of the period and of the one before it. */
export async function decisionKpis(
	db: Pick<Database, 'select'>,
	registry: ModelRegistry,
	query: KpiQuery
): Promise<KpiSummary> {
	const parsed = kpiQuerySchema.safeParse(query);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const { from, to } = periodOf(parsed.data);
	const previousFrom = new Date(from.getTime() - (to.getTime() - from.getTime()));
	const current = sql<boolean>`${predictions.createdAt} >= ${from.toISOString()}::timestamptz`;
	const rows = await db
		.select({
			model: predictions.modelId,
			current,
			decisions: sql<number>`count(*)::int`,
			approved: sql<number>`(count(*) filter (where ${predictions.decision} = 'approve'))::int`,
			referred: sql<number>`(count(*) filter (where ${predictions.decision} = 'review'))::int`,
			declined: sql<number>`(count(*) filter (where ${predictions.decision} = 'decline'))::int`,
			approvedPdSum: sql<number>`coalesce(sum(${predictions.probability}) filter (where ${predictions.decision} = 'approve'), 0)::float8`
		})
		.from(predictions)
		.where(and(gte(predictions.createdAt, previousFrom), lt(predictions.createdAt, to)))
		// By position: the period flag is an expression with a parameter, which GROUP BY cannot repeat.
		.groupBy(sql`1`, sql`2`);

	const byModel = new Map<string, { current: Counts; previous: Counts }>();
	for (const id of registry.modelIds()) byModel.set(id, { current: empty(), previous: empty() });
	const total = { current: empty(), previous: empty() };
	for (const row of rows) {
		const entry = byModel.get(row.model) ?? { current: empty(), previous: empty() };
		byModel.set(row.model, entry);
		const side = row.current ? 'current' : 'previous';
		for (const counts of [entry[side], total[side]]) {
			counts.decisions += Number(row.decisions);
			counts.approved += Number(row.approved);
			counts.referred += Number(row.referred);
			counts.declined += Number(row.declined);
			counts.approvedPdSum += Number(row.approvedPdSum);
		}
	}
	return {
		period: { from: from.toISOString(), to: to.toISOString() },
		previousPeriod: { from: previousFrom.toISOString(), to: from.toISOString() },
		overall: {
			model: null,
			label: 'All products',
			current: figures(total.current),
			previous: figures(total.previous)
		},
		products: [...byModel.entries()]
			.map(([model, counts]) => ({
				model,
				label: productName(registry, model),
				current: figures(counts.current),
				previous: figures(counts.previous)
			}))
			.sort((a, b) => a.label.localeCompare(b.label))
	};
}

/** The product's name from its champion's manifest; a model no longer loaded keeps its id. */
function productName(registry: ModelRegistry, model: string): string {
	try {
		return registry.resolve(model).manifest.model.name;
	} catch {
		return model;
	}
}

function figures(c: Counts): PeriodFigures {
	const share = (n: number) => (c.decisions > 0 ? n / c.decisions : null);
	return {
		decisions: c.decisions,
		approved: c.approved,
		referred: c.referred,
		declined: c.declined,
		approvalRate: share(c.approved),
		reviewRate: share(c.referred),
		declineRate: share(c.declined),
		expectedDefaultRateApproved: c.approved > 0 ? c.approvedPdSum / c.approved : null
	};
}
