/**
 * The drift counts of stored predictions computed in SQL, straight from `predictions`: the full
 * scan that `drift_counts` spares. Bins as in `bins.ts`, written independently (width_bucket on the
 * reference edges, array_position on the categories), so that tests and the benchmark can check the
 * writer's counts against it and time what it costs.
 */
import { sql, type SQL } from 'drizzle-orm';
import { MISSING_BIN, OTHER_BIN, SCORE_FEATURE } from '../../db/schema';
import type { FeatureBins } from './bins';

/**
 * One SELECT of (hour, feature, bin, n) over the predictions of a model version, every feature of
 * `bins` at once, in [from, to) when given. Hours are UTC hours, as the writer counts them, whatever
 * the session's time zone.
 */
export function recountStatement(
	bins: readonly FeatureBins[],
	model: { id: string; version: string },
	range?: { from: Date; to: Date }
): SQL {
	const columns = bins.map((feature) => {
		const value = feature.feature === SCORE_FEATURE ? sql`p.probability` : sql`(x.j ->> ${feature.feature})`;
		if (feature.kind === 'numeric') {
			const edges = sql.raw(`array[${feature.edges.map(Number).join(',')}]::float8[]`);
			// width_bucket: 1..k inside the edges, 0 below the first, k+1 from the last on.
			return sql`(${feature.feature}::text, case when ${value} is null then ${MISSING_BIN}
				else least(greatest(width_bucket((${value})::float8, ${edges}), 1), ${feature.edges.length - 1}) - 1 end)`;
		}
		const categories = sql.join(
			feature.categories.map((c) => sql`${c}`),
			sql`, `
		);
		return sql`(${feature.feature}::text, case when ${value} is null then ${MISSING_BIN}
			else coalesce(array_position(array[${categories}]::text[], ${value}) - 1, ${OTHER_BIN}) end)`;
	});
	const where = range
		? sql`and p.created_at >= ${range.from.toISOString()}::timestamptz and p.created_at < ${range.to.toISOString()}::timestamptz`
		: sql``;
	return sql`
		select date_trunc('hour', p.created_at at time zone 'UTC') at time zone 'UTC' as hour, b.feature, b.bin::smallint as bin, count(*)::bigint as n
		from predictions p
		-- One parse of the json per row (as jsonb; offset 0 keeps the planner from inlining it per feature).
		cross join lateral (select p.input::jsonb as j offset 0) as x
		cross join lateral (values ${sql.join(columns, sql`, `)}) as b(feature, bin)
		where p.model_id = ${model.id} and p.model_version = ${model.version} ${where}
		group by 1, 2, 3`;
}
