/**
 * `npm run bench:drift`: on a fresh PostgreSQL database (BENCH_DATABASE_URL's server, default the
 * local one),
 *
 * 1. the write path: the prediction writer takes BENCH_WRITE_ROWS single-row writes from 64
 *    concurrent callers by COPY, with and without the drift-count upsert alongside, in alternating
 *    rounds; prints rows/s of each and the difference;
 * 2. seeds BENCH_DRIFT_ROWS predictions (default 10,000,000: the golden applicants in turn, over
 *    BENCH_DRIFT_DAYS days) with generate_series, and their drift counts from them in SQL;
 * 3. times the drift of the whole range (every feature and the score, against the reference) read
 *    from `drift_counts`, and the same counts computed by a full scan of `predictions`, in the same
 *    run, and checks that both give the same counts.
 *
 * Figures depend on the machine; PostgreSQL shares it with this script.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { openDatabase, rowsOf, type DatabaseHandle } from '../src/lib/server/db';
import { OTHER_BIN, SCORE_FEATURE, type NewPrediction } from '../src/lib/server/db/schema';
import { binOfValue, countSlots, referenceBins } from '../src/lib/server/monitoring/drift/bins';
import { recountStatement } from '../src/lib/server/monitoring/drift/recount';
import { windowCounts } from '../src/lib/server/monitoring/drift/counts';
import { driftCounting } from '../src/lib/server/services/drift-counting';
import { computeDrift } from '../src/lib/server/services/drift.service';
import { ModelRegistry } from '../src/lib/server/services/models.service';
import { PredictionWriter } from '../src/lib/server/services/prediction-writer';
import { freshDatabase } from './bench-server';

const ROWS = Number(process.env.BENCH_DRIFT_ROWS ?? 10_000_000);
const DAYS = Number(process.env.BENCH_DRIFT_DAYS ?? 30);
const WRITE_ROWS = Number(process.env.BENCH_WRITE_ROWS ?? 40_000);
/** Rows the timed full scan reads at most (BENCH_SCAN_ROWS): ~50 µs each here, so all 10 M would take minutes. */
const SCAN_ROWS = Number(process.env.BENCH_SCAN_ROWS ?? 1_000_000);
const ROUNDS = 4;
/** Concurrent single-row writers (BENCH_WRITE_CALLERS): the flush size is at most this. */
const CALLERS = Number(process.env.BENCH_WRITE_CALLERS ?? 64);
const MODEL = { id: 'lending-club', version: 'xgb-1.0.0' };
const START = Date.UTC(2026, 0, 1);

interface Golden {
	raw: Record<string, number | string | null>;
	probability: number;
}

const golden = readFileSync('models/lending-club/xgb-1.0.0/golden.jsonl', 'utf8')
	.trim()
	.split('\n')
	.map((line) => JSON.parse(line) as Golden);

function row(i: number): NewPrediction {
	const g = golden[i % golden.length] as Golden;
	return {
		id: randomUUID(),
		modelId: MODEL.id,
		modelVersion: MODEL.version,
		requestId: `bench-${i}`,
		requester: 'service:bench',
		channel: 'api',
		input: g.raw,
		probability: g.probability,
		margin: 0,
		points: 600,
		band: 'C',
		decision: 'approve',
		reasons: [],
		latencyMs: 1
	};
}

/** Rows/s of WRITE_ROWS single-row writes from CALLERS concurrent callers. */
async function writeRate(database: DatabaseHandle, models: ModelRegistry | undefined): Promise<number> {
	const writer = new PredictionWriter(database.db, {
		copyIn: database.copyIn,
		...(models ? { alongside: driftCounting(models) } : {})
	});
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: CALLERS }, async () => {
			while (next < WRITE_ROWS) await writer.write(row(next++));
		})
	);
	await writer.close();
	return WRITE_ROWS / ((performance.now() - started) / 1000);
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
	const started = performance.now();
	const value = await run();
	return { ms: performance.now() - started, value };
}

async function main(): Promise<void> {
	const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
	const fresh = await freshDatabase(adminUrl, 'drift');
	const database = await openDatabase({
		url: fresh.url,
		migrate: true,
		migrationsDir: 'drizzle',
		copyPoolSize: 4
	});
	try {
		const models = await ModelRegistry.load(path.resolve('models'));
		const bins = referenceBins(models.resolve(MODEL.id, MODEL.version).manifest);

		console.log(`\n1. Write path: ${WRITE_ROWS} single-row writes from ${CALLERS} callers per round, COPY`);
		const rates = { without: [] as number[], with: [] as number[] };
		for (let round = 0; round < ROUNDS; round++) {
			const order = round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
			for (const mode of order) {
				const rate = await writeRate(database, mode === 'with' ? models : undefined);
				rates[mode].push(rate);
				console.log(`   round ${round + 1} ${mode.padEnd(7)} drift counts: ${Math.round(rate)} rows/s`);
			}
		}
		const median = (values: number[]) =>
			[...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
		const without = median(rates.without);
		const withCounts = median(rates.with);
		console.log(
			`   median: without ${Math.round(without)} rows/s, with ${Math.round(withCounts)} rows/s (${(((withCounts - without) / without) * 100).toFixed(1)} %)`
		);
		await database.db.execute(sql`truncate predictions, drift_counts cascade`);

		console.log(`\n2. Seeding ${ROWS.toLocaleString('en')} predictions over ${DAYS} days`);
		await database.db.execute(
			sql`create temporary table golden (i int primary key, input json, probability float8)`
		);
		await database.db
			.execute(sql`insert into golden select i - 1, value -> 'raw', (value ->> 'probability')::float8
			from json_array_elements(${JSON.stringify(golden)}::json) with ordinality as t(value, i)`);
		const chunk = 1_000_000;
		const seeding = await timed(async () => {
			for (let offset = 0; offset < ROWS; offset += chunk) {
				const upto = Math.min(ROWS, offset + chunk);
				await database.db
					.execute(sql`insert into predictions (id, created_at, model_id, model_version, request_id,
						requester, channel, input, probability, margin, points, band, decision, reasons, latency_ms)
					select gen_random_uuid(), ${new Date(START).toISOString()}::timestamptz + (s * ${(DAYS * 86_400) / ROWS}::float8) * interval '1 second',
						${MODEL.id}, ${MODEL.version}, 'bench-' || s, 'service:bench', 'api', g.input, g.probability, 0, 600, 'C',
						'approve', '[]'::json, 1
					from generate_series(${offset}::int, ${upto - 1}::int) as s join golden g on g.i = s % ${golden.length}::int`);
				process.stdout.write(`   ${upto.toLocaleString('en')} rows\r`);
			}
		});
		// The counts of the seeded rows without scanning them: each is golden row s % n at a known time,
		// so an hour's counts are its golden rows' multiplicities times their bins (binned as the writer bins).
		const cells = golden.flatMap((g, i) =>
			bins.map((feature) => ({
				i,
				feature: feature.feature,
				bin: binOfValue(feature, feature.feature === SCORE_FEATURE ? g.probability : g.raw[feature.feature])
			}))
		);
		const slots = bins.map((feature) => ({ feature: feature.feature, slots: countSlots(feature) }));
		const counting = await timed(() =>
			database.db.execute(sql`
				with m as (
					select date_trunc('hour', ${new Date(START).toISOString()}::timestamptz + (s * ${(DAYS * 86_400) / ROWS}::float8) * interval '1 second') as hour,
						s % ${golden.length}::int as i, count(*) as n
					from generate_series(0, ${ROWS - 1}::int) as s group by 1, 2
				), b as (
					select m.hour, c.feature, c.bin, sum(m.n) as n
					from m join json_to_recordset(${JSON.stringify(cells)}::json) as c(i int, feature text, bin smallint) on c.i = m.i
					group by 1, 2, 3
				)
				insert into drift_counts (model_id, model_version, hour, feature, slot, counts)
				select ${MODEL.id}, ${MODEL.version}, h.hour, f.feature, 0, array_agg(coalesce(b.n, 0)::bigint order by k)
				from (select distinct hour from m) as h
				cross join json_to_recordset(${JSON.stringify(slots)}::json) as f(feature text, slots int)
				cross join lateral generate_series(1, f.slots) as k
				left join b on b.hour = h.hour and b.feature = f.feature and b.bin = k - 1 + ${OTHER_BIN}
				group by h.hour, f.feature`)
		);
		await database.db.execute(sql`vacuum analyze predictions`);
		await database.db.execute(sql`vacuum analyze drift_counts`);
		const sizes = rowsOf<{ predictions: number; counts: number; size: string }>(
			await database.db.execute(sql`select (select count(*)::int from predictions) as predictions,
				(select count(*)::int from drift_counts) as counts,
				pg_size_pretty(pg_total_relation_size('predictions')) as size`)
		)[0];
		console.log(
			`   ${sizes?.predictions.toLocaleString('en')} predictions (${sizes?.size}) in ${(seeding.ms / 1000).toFixed(1)} s; ` +
				`${sizes?.counts.toLocaleString('en')} drift_counts rows for them in ${(counting.ms / 1000).toFixed(1)} s`
		);

		const days = { from: new Date(START), to: new Date(START + DAYS * 86_400_000) };
		// The full scan reads SCAN_ROWS rows at most (whole hours from the start), to keep the run short.
		const scanHours = Math.max(1, Math.floor((Math.min(SCAN_ROWS, ROWS) / ROWS) * DAYS * 24));
		const scanRange = { from: days.from, to: new Date(START + scanHours * 3_600_000) };
		const deps = { db: database.db, models, bands: { watch: 0.1, act: 0.25 } };
		const driftOf = (range: { from: Date; to: Date }) =>
			timed(() =>
				computeDrift(deps, { model: MODEL.id, from: range.from.toISOString(), to: range.to.toISOString() })
			);
		await driftOf(days); // once untimed, as a running server has its caches warm
		const all = await driftOf(days);
		const part = await driftOf(scanRange);
		console.log(`\n3. Drift, every feature and the score, against the reference`);
		console.log(
			`   from drift_counts, ${DAYS} days:      ${all.ms.toFixed(0).padStart(7)} ms (${all.value.count.toLocaleString('en')} predictions)`
		);
		console.log(
			`   from drift_counts, ${scanHours} hours:    ${part.ms.toFixed(0).padStart(7)} ms (${part.value.count.toLocaleString('en')} predictions)`
		);
		const scan = await timed(async () =>
			rowsOf<{ feature: string; bin: number; n: string | number }>(
				await database.db.execute(
					sql`select feature, bin, sum(n) as n from (${recountStatement(bins, MODEL, scanRange)}) as r group by 1, 2`
				)
			)
		);
		const counts = await windowCounts(database.db, MODEL, scanRange.from, scanRange.to);
		const scanned = scan.value
			.filter((r) => r.feature === SCORE_FEATURE)
			.reduce((sum, r) => sum + Number(r.n), 0);
		const same =
			scanned === part.value.count &&
			scan.value.every((r) => counts.get(r.feature)?.get(Number(r.bin)) === Number(r.n));
		console.log(
			`   the same counts by a full scan, ${scanHours} hours: ${scan.ms.toFixed(0).padStart(7)} ms (${scanned.toLocaleString('en')} rows)`
		);
		console.log(`   same counts both ways: ${same ? 'yes' : 'NO'}`);
		if (!same) process.exitCode = 1;
	} finally {
		await database.close();
		await fresh.drop();
	}
}

await main();
