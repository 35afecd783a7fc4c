/**
 * Reads and writes of `drift_counts`. The write is one set-based upsert per flush of the
 * prediction writer, in the same transaction as the predictions it counts; the read sums a window's
 * hours per feature and bin, through the table's primary key.
 */
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db';
import { driftCounts } from '../../db/schema';
import type { DriftCount } from './bins';

/** Adds `counts` to the table: an INSERT … ON CONFLICT DO UPDATE that adds, atomic per row. */
export function upsertCounts(counts: readonly DriftCount[], slot: number): SQL | undefined {
	if (counts.length === 0) return undefined;
	return sql`insert into ${driftCounts} (model_id, model_version, hour, feature, bin, slot, count)
		select model_id, model_version, hour, feature, bin, ${slot}::smallint, count
		from json_to_recordset(${JSON.stringify(counts.map((c) => ({ model_id: c.modelId, model_version: c.modelVersion, hour: c.hour, feature: c.feature, bin: c.bin, count: c.count })))}::json)
			as t(model_id text, model_version text, hour timestamptz, feature text, bin smallint, count bigint)
		order by model_id, model_version, hour, feature, bin
		on conflict (model_id, model_version, hour, feature, bin, slot)
		do update set count = ${driftCounts}.count + excluded.count`;
}

/** Counts per feature and bin of one model version in [from, to) (hour starts). */
export async function windowCounts(
	db: Pick<Database, 'execute'>,
	model: { id: string; version: string },
	from: Date,
	to: Date
): Promise<Map<string, Map<number, number>>> {
	const result = await db.execute(sql`
		select feature, bin, sum(count)::float8 as n from ${driftCounts}
		where model_id = ${model.id} and model_version = ${model.version}
			and hour >= ${from.toISOString()}::timestamptz and hour < ${to.toISOString()}::timestamptz
		group by feature, bin`);
	const byFeature = new Map<string, Map<number, number>>();
	for (const row of rowsOf<{ feature: string; bin: number; n: number | string }>(result)) {
		let bins = byFeature.get(row.feature);
		if (!bins) byFeature.set(row.feature, (bins = new Map<number, number>()));
		bins.set(Number(row.bin), Number(row.n));
	}
	return byFeature;
}
