/**
 * Statistics of the recorded predictions — shared by every instance because they come from the
 * database. Each query is one aggregate over a `created_at` range, so PostgreSQL (and PGlite)
 * reads it through the `created_at` indexes of `predictions`.
 */
import { and, gte, lt, sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../db';
import { predictions } from '../db/schema';

type Reader = Pick<Database, 'execute'>;

export interface PredictionSlot {
	/** Epoch milliseconds of the slot's start. */
	at: number;
	count: number;
	approve: number;
	review: number;
	decline: number;
	/** Recorded scoring latency (inference + policy), in milliseconds; null for an empty slot. */
	p50: number | null;
	p95: number | null;
	p99: number | null;
}

interface SlotRow {
	slot: number | string;
	n: number;
	approve: number;
	review: number;
	decline: number;
	p: number[] | string | null;
}

/**
 * Predictions per slot of `stepMs` between `from` and `to`, oldest first, empty slots included
 * (a chart must show silence as zero, not skip it).
 */
export async function predictionSeries(
	db: Reader,
	from: number,
	to: number,
	stepMs: number
): Promise<PredictionSlot[]> {
	const stepSeconds = stepMs / 1000;
	const result = await db.execute(sql`
		select floor(extract(epoch from ${predictions.createdAt}) / ${stepSeconds}::numeric)::bigint as slot,
			count(*)::int as n,
			(count(*) filter (where ${predictions.decision} = 'approve'))::int as approve,
			(count(*) filter (where ${predictions.decision} = 'review'))::int as review,
			(count(*) filter (where ${predictions.decision} = 'decline'))::int as decline,
			percentile_cont(array[0.5, 0.95, 0.99]::float8[]) within group (order by ${predictions.latencyMs}) as p
		from ${predictions}
		where ${range(from, to)}
		group by 1`);
	const bySlot = new Map<number, SlotRow>();
	for (const row of rowsOf<SlotRow>(result)) bySlot.set(Number(row.slot), row);
	const slots: PredictionSlot[] = [];
	for (let start = from; start < to; start += stepMs) {
		const row = bySlot.get(Math.floor(start / stepMs));
		const p = row ? parseFloats(row.p) : [];
		slots.push({
			at: start,
			count: row?.n ?? 0,
			approve: row?.approve ?? 0,
			review: row?.review ?? 0,
			decline: row?.decline ?? 0,
			p50: p[0] ?? null,
			p95: p[1] ?? null,
			p99: p[2] ?? null
		});
	}
	return slots;
}

/** Predictions of one model version per score bin (`edges` from its manifest's reference). */
export async function scoreCounts(
	db: Reader,
	model: { id: string; version: string; edges: readonly number[] },
	from: number,
	to: number
): Promise<number[]> {
	const edges = sql.join(
		model.edges.map((edge) => sql`${edge}`),
		sql`, `
	);
	const result = await db.execute(sql`
		select width_bucket(${predictions.probability}, array[${edges}]::float8[]) as bin, count(*)::int as n
		from ${predictions}
		where ${predictions.modelId} = ${model.id} and ${predictions.modelVersion} = ${model.version}
			and ${range(from, to)}
		group by 1`);
	const counts = new Array<number>(model.edges.length - 1).fill(0);
	for (const row of rowsOf<{ bin: number; n: number }>(result)) {
		// width_bucket gives 1..k inside the edges; 0 below the first and k+1 from the last edge on.
		const index = Math.min(Math.max(Number(row.bin) - 1, 0), counts.length - 1);
		counts[index] = (counts[index] ?? 0) + row.n;
	}
	return counts;
}

/** Time of the newest prediction before `to` and at or after `from`; null when there is none. */
export async function lastPredictionAt(db: Reader, from: number, to: number): Promise<number | null> {
	const result = await db.execute(
		sql`select max(${predictions.createdAt}) as at from ${predictions} where ${range(from, to)}`
	);
	const at = rowsOf<{ at: string | Date | null }>(result)[0]?.at;
	return at ? new Date(at).getTime() : null;
}

/** Predictions recorded in [from, to). */
export async function predictionCount(db: Reader, from: number, to: number): Promise<number> {
	const result = await db.execute(
		sql`select count(*)::int as n from ${predictions} where ${range(from, to)}`
	);
	return rowsOf<{ n: number }>(result)[0]?.n ?? 0;
}

function range(from: number, to: number) {
	return and(gte(predictions.createdAt, new Date(from)), lt(predictions.createdAt, new Date(to)));
}

/** postgres.js returns float8[] as numbers, PGlite as numbers or `{…}` text depending on the path. */
function parseFloats(value: number[] | string | null): number[] {
	if (value === null) return [];
	if (Array.isArray(value)) return value.map(Number);
	return value
		.replace(/[{}]/g, '')
		.split(',')
		.filter((item) => item !== '' && item !== 'NULL')
		.map(Number);
}

/**
 * Population stability index of observed counts against expected proportions:
 * Σ (a − e) · ln(a / e), with empty bins floored at a small share so one empty bin does not make
 * it infinite. Below 0.1 is usually read as stable, 0.1–0.25 as a moderate shift, above 0.25 as
 * a significant one.
 */
export function populationStabilityIndex(expected: readonly number[], observed: readonly number[]): number {
	const total = observed.reduce((sum, n) => sum + n, 0);
	if (total === 0) return 0;
	const floor = 1e-4;
	let psi = 0;
	expected.forEach((share, bin) => {
		const e = Math.max(share, floor);
		const a = Math.max((observed[bin] ?? 0) / total, floor);
		psi += (a - e) * Math.log(a / e);
	});
	return psi;
}
