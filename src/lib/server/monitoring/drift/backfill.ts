/**
 * Backfill of `drift_counts`: the hours whose predictions the writer did not count — recorded before
 * migration 0009, or by a version whose bins the writer did not know — counted again from
 * `predictions`, so that drift covers them.
 *
 * An hour needs it when `drift_counts` holds fewer score counts (`$score`, one per prediction) than
 * `predictions` holds rows. Such an hour's rows are replaced, in one transaction per run of
 * consecutive hours, by the SQL recount of `recount.ts`: a repeated backfill finds nothing to do,
 * and an hour counted in part (the hour of the upgrade) ends up counted once. Only hours that ended
 * at least an hour ago are touched, so no writer can be adding to an hour being replaced. An hour
 * with more counts than predictions (predictions deleted since) is left alone.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db';
import { driftCounts, SCORE_FEATURE } from '../../db/schema';
import { countSlots, positionOf, type DriftCount, type FeatureBins } from './bins';
import { upsertCounts } from './counts';
import { recountStatement } from './recount';

const HOUR_MS = 3_600_000;
/** Hours recounted per transaction: a day of one version. */
const HOURS_PER_TRANSACTION = 24;
/** The slot the recounted rows are written to (readers sum over slots). */
const BACKFILL_SLOT = 0;

export interface BackfillTarget {
	id: string;
	version: string;
	bins: readonly FeatureBins[];
}

export interface BackfillHour {
	hour: string;
	predictions: number;
	/** Score counts `drift_counts` held for the hour before the backfill. */
	counted: number;
}

export interface BackfillResult {
	model: string;
	version: string;
	/** The hours that needed a recount (and got one, unless a dry run). */
	hours: BackfillHour[];
	/** Predictions of those hours not counted before. */
	added: number;
}

export interface BackfillOptions {
	/** List the hours only. */
	dryRun?: boolean;
	/** The clock; hours starting from the previous hour on are never touched. */
	now?: Date;
}

/** The hours of `target` before `before` with fewer score counts than predictions. */
export async function uncountedHours(
	db: Pick<Database, 'execute'>,
	target: Pick<BackfillTarget, 'id' | 'version'>,
	before: Date
): Promise<BackfillHour[]> {
	const until = before.toISOString();
	const result = await db.execute(sql`
		select p.hour, p.n::float8 as predictions, coalesce(d.n, 0)::float8 as counted
		from (
			select date_trunc('hour', created_at at time zone 'UTC') at time zone 'UTC' as hour, count(*) as n
			from predictions
			where model_id = ${target.id} and model_version = ${target.version}
				and created_at < ${until}::timestamptz
			group by 1
		) p left join (
			select d.hour, sum(u.n) as n
			from ${driftCounts} d cross join lateral unnest(d.counts) as u(n)
			where d.model_id = ${target.id} and d.model_version = ${target.version}
				and d.feature = ${SCORE_FEATURE} and d.hour < ${until}::timestamptz
			group by 1
		) d on d.hour = p.hour
		where coalesce(d.n, 0) < p.n
		order by 1`);
	return rowsOf<{ hour: Date | string; predictions: number | string; counted: number | string }>(result).map(
		(row) => ({
			hour: new Date(row.hour).toISOString(),
			predictions: Number(row.predictions),
			counted: Number(row.counted)
		})
	);
}

/** Recounts the uncounted hours of each target (docs/drift.md, "Backfill"). */
export async function backfillDriftCounts(
	db: Database,
	targets: readonly BackfillTarget[],
	options: BackfillOptions = {}
): Promise<BackfillResult[]> {
	const now = (options.now ?? new Date()).getTime();
	const before = new Date(Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS);
	const results: BackfillResult[] = [];
	for (const target of targets) {
		const hours = await uncountedHours(db, target, before);
		if (!options.dryRun) {
			for (const run of runsOf(hours)) await recountRun(db, target, run);
		}
		results.push({
			model: target.id,
			version: target.version,
			hours,
			added: hours.reduce((sum, h) => sum + h.predictions - h.counted, 0)
		});
	}
	return results;
}

/** Consecutive hours, at most a day each. */
function runsOf(hours: readonly BackfillHour[]): { from: Date; to: Date; hours: string[] }[] {
	const runs: { from: Date; to: Date; hours: string[] }[] = [];
	for (const { hour } of hours) {
		const start = new Date(hour);
		const last = runs.at(-1);
		if (last && last.to.getTime() === start.getTime() && last.hours.length < HOURS_PER_TRANSACTION) {
			last.to = new Date(start.getTime() + HOUR_MS);
			last.hours.push(hour);
		} else {
			runs.push({ from: start, to: new Date(start.getTime() + HOUR_MS), hours: [hour] });
		}
	}
	return runs;
}

async function recountRun(
	db: Database,
	target: BackfillTarget,
	run: { from: Date; to: Date; hours: string[] }
): Promise<void> {
	await db.transaction(async (tx) => {
		await tx.execute(sql`
			delete from ${driftCounts}
			where model_id = ${target.id} and model_version = ${target.version}
				and hour >= ${run.from.toISOString()}::timestamptz and hour < ${run.to.toISOString()}::timestamptz`);
		const rows = rowsOf<{ hour: Date | string; feature: string; bin: number; n: number | string }>(
			await tx.execute(recountStatement(target.bins, target, run))
		);
		const insert = upsertCounts(countsOf(target, rows), BACKFILL_SLOT);
		if (insert) await tx.execute(insert);
	});
}

/** The recount's (hour, feature, bin, n) rows as one counts array per (hour, feature). */
function countsOf(
	target: BackfillTarget,
	rows: readonly { hour: Date | string; feature: string; bin: number; n: number | string }[]
): DriftCount[] {
	const slots = new Map(target.bins.map((b) => [b.feature, countSlots(b)]));
	const byKey = new Map<string, DriftCount>();
	for (const row of rows) {
		const hour = new Date(row.hour).toISOString();
		const key = `${hour}\u0000${row.feature}`;
		let count = byKey.get(key);
		if (!count) {
			count = {
				modelId: target.id,
				modelVersion: target.version,
				hour,
				feature: row.feature,
				counts: new Array<number>(slots.get(row.feature) ?? 0).fill(0)
			};
			byKey.set(key, count);
		}
		count.counts[positionOf(Number(row.bin))] = Number(row.n);
	}
	return [...byKey.values()];
}
