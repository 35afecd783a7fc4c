/**
 * Reads and writes of `drift_counts`. The write is one set-based upsert per flush of the
 * prediction writer, in the same transaction as the predictions it counts; the read sums a window's
 * hours per feature and bin, through the table's primary key.
 */
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db';
import { driftCounts, OTHER_BIN } from '../../db/schema';
import type { DriftCount } from './bins';

/**
 * Adds `counts` to the table: an INSERT … ON CONFLICT DO UPDATE that adds the arrays element-wise,
 * atomic per row.
 */
export function upsertCounts(counts: readonly DriftCount[], slot: number): SQL | undefined {
	if (counts.length === 0) return undefined;
	const records = counts.map((c) => ({
		model_id: c.modelId,
		model_version: c.modelVersion,
		hour: c.hour,
		feature: c.feature,
		counts: c.counts
	}));
	return sql`insert into ${driftCounts} (model_id, model_version, hour, feature, slot, counts)
		select model_id, model_version, hour, feature, ${slot}::smallint, counts
		from json_to_recordset(${JSON.stringify(records)}::json)
			as t(model_id text, model_version text, hour timestamptz, feature text, counts bigint[])
		order by model_id, model_version, hour, feature
		on conflict (model_id, model_version, hour, feature, slot)
		do update set counts = array(
			select coalesce(a, 0) + coalesce(b, 0)
			from unnest(${driftCounts}.counts, excluded.counts) with ordinality as u(a, b, k) order by k
		)`;
}

/** Counts per feature and bin of one model version in [from, to) (hour starts). */
export async function windowCounts(
	db: Pick<Database, 'execute'>,
	model: { id: string; version: string },
	from: Date,
	to: Date
): Promise<Map<string, Map<number, number>>> {
	const result = await db.execute(sql`
		select d.feature, u.k::int as k, sum(u.n)::float8 as n
		from ${driftCounts} d cross join lateral unnest(d.counts) with ordinality as u(n, k)
		where d.model_id = ${model.id} and d.model_version = ${model.version}
			and d.hour >= ${from.toISOString()}::timestamptz and d.hour < ${to.toISOString()}::timestamptz
		group by 1, 2`);
	const byFeature = new Map<string, Map<number, number>>();
	for (const row of rowsOf<{ feature: string; k: number; n: number | string }>(result)) {
		let bins = byFeature.get(row.feature);
		if (!bins) byFeature.set(row.feature, (bins = new Map<number, number>()));
		// SQL positions start at 1: position k holds bin k − 1 + OTHER_BIN.
		const n = Number(row.n);
		if (n > 0) bins.set(Number(row.k) - 1 + OTHER_BIN, n);
	}
	return byFeature;
}
