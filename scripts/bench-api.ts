/**
 * `npm run bench:api`: starts the built server on PostgreSQL (BENCH_DATABASE_URL, default the
 * local `postgres://postgres@127.0.0.1:5432/<fresh db>`) or PGlite (BENCH_DB=pglite), creates a
 * service account with the CLI, and drives the REST route and the tRPC procedure with autocannon
 * at 16, 64 and 256 connections (BENCH_CONNECTIONS), BENCH_REQUESTS requests per run. It then stops the server (which drains the group-commit writer)
 * and checks that the stored predictions equal the 200 responses. Prints req/s and latency
 * percentiles, then the latency of 1,000-row batches. Each telemetry mode of BENCH_OTEL (default
 * `off,on`) gets its own server start and runs, and a last table compares them. BENCH_NODE_ARGS
 * passes flags to the server's Node.js (e.g. `--cpu-prof` to see where a request's time goes);
 * BENCH_TARGETS picks what to drive (`rest,trpc,batch`). Before the servers, the same load runs
 * against a bare `node:http` route that parses the same JSON body (`scripts/bench-ceiling.js`, the
 * ceiling), and a last table gives each door's throughput as a ratio of it.
 *
 * Figures depend on the machine; the load generator shares it with the server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import postgres from 'postgres';
import {
	batchCall,
	batchRows,
	benchEnv,
	cpuReference,
	createServiceAccount,
	fetchToken,
	freshDatabase,
	goldenApplicants,
	startServer,
	stopServer
} from './bench-server';
import { fixedLoad, quantileOf } from './bench-load';

const PORT = Number(process.env.BENCH_PORT ?? 3499);
const BASE = `http://127.0.0.1:${PORT}`;
/** Where the bare node:http ceiling listens (BENCH_CEILING_PORT). */
const CEILING_PORT = Number(process.env.BENCH_CEILING_PORT ?? PORT - 1);
const CEILING = 'bare node:http JSON route (the ceiling)';
/**
 * Requests per run. A fixed count (not a duration) lets autocannon wait for every response, so
 * that the 200s counted equal the decisions the server acknowledged.
 */
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 30_000);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '16,64,256').split(',').map(Number);
const usePglite = process.env.BENCH_DB === 'pglite';
/** What to drive (BENCH_TARGETS, default all three): `rest`, `trpc`, `batch`. */
/** 1,000-row batch calls per telemetry mode (BENCH_BATCH_CALLS, default 50). */
const BATCH_CALLS = Number(process.env.BENCH_BATCH_CALLS ?? 50);
/**
 * Untimed 1,000-row calls before those (BENCH_BATCH_WARMUP, default 10): a server just started runs
 * the batch path's code unoptimised for its first few calls, which is not the steady state the
 * figure is for. Their rows are recorded and counted like the others.
 */
const BATCH_WARMUP = Number(process.env.BENCH_BATCH_WARMUP ?? 10);
const TARGETS = new Set((process.env.BENCH_TARGETS ?? 'rest,trpc,batch').split(',').map((t) => t.trim()));
/** Extra Node.js flags for the server, e.g. `--cpu-prof --cpu-prof-dir=.data/bench/prof`. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const PGLITE_DIR = '.data/bench/pglite';

interface Row {
	target: string;
	connections: number;
	requests: number;
	ok: number;
	non2xx: number;
	errors: number;
	rps: number;
	p50: number;
	p95: number;
	p99: number;
}

const applicants = goldenApplicants();
const BATCH_ROWS = batchRows(applicants);

/**
 * Telemetry modes to measure, in order (BENCH_OTEL, comma-separated, repeats allowed, default
 * `off,on`): `off` starts the server with OTEL_SDK_DISABLED=true (the application's own metrics
 * still record, on an in-process MeterProvider), `on` with the OpenTelemetry SDK loaded as in
 * production (HTTP instrumentation, context propagation, Prometheus reader; traces are recorded
 * only if OTEL_EXPORTER_OTLP_ENDPOINT is set in the benchmark's environment).
 */
const MODES = (process.env.BENCH_OTEL ?? 'off,on').split(',').map((mode) => mode.trim());
for (const mode of MODES) {
	if (mode !== 'on' && mode !== 'off') throw new Error(`BENCH_OTEL: expected on or off, got ${mode}`);
}

async function main(): Promise<void> {
	execFileSync(process.execPath, ['scripts/ensure-build.js'], { stdio: 'inherit' });
	const { env, cleanup } = await prepareDatabase();
	const secret = createServiceAccount(env);
	const rows: (Row & { mode: string })[] = [];
	const ceiling = TARGETS.has('rest') || TARGETS.has('trpc') ? await ceilingRuns() : [];
	const batches: { mode: string; latencies: number[]; calls: number; reference: string }[] = [];
	for (const mode of MODES) {
		const server = await startServer(
			{ ...env, OTEL_SDK_DISABLED: mode === 'off' ? 'true' : 'false' },
			{ nodeArgs: NODE_ARGS }
		);
		try {
			const token = await fetchToken(BASE, secret.clientId, secret.clientSecret);
			const body = JSON.stringify({ applicant: applicants[0] });
			// Warm-up call (counted in the expected total).
			await fetch(`${BASE}/api/v1/models/lending-club/score`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
				body
			});
			for (const connections of TARGETS.has('rest') ? CONNECTIONS : []) {
				const row = await run(
					'REST POST /api/v1/models/lending-club/score',
					connections,
					token,
					'/api/v1/models/lending-club/score',
					body
				);
				rows.push({ ...row, mode });
			}
			const trpcBody = JSON.stringify({ model: 'lending-club', applicant: applicants[0] });
			for (const connections of TARGETS.has('trpc') ? CONNECTIONS : []) {
				const row = await run('tRPC scoring.score', connections, token, '/trpc/scoring.score', trpcBody);
				rows.push({ ...row, mode });
			}
			if (TARGETS.has('batch')) {
				const before = cpuReference(BATCH_ROWS);
				const latencies = await batchRuns(token);
				const reference = `${before.toFixed(1)} / ${cpuReference(BATCH_ROWS).toFixed(1)}`;
				batches.push({ mode, latencies, calls: BATCH_WARMUP + latencies.length, reference });
			}
		} finally {
			await stopServer(server);
		}
	}
	const stored = await countStored(env);
	// One warm-up call per server start is counted too.
	const ok =
		rows.reduce((sum, row) => sum + row.ok, 0) +
		batches.reduce((sum, b) => sum + b.calls * 1000, 0) +
		MODES.length;
	await cleanup();

	console.log(
		'\nScoring throughput (autocannon, %d requests per run, load generator on the same machine)\n',
		REQUESTS
	);
	console.log(
		'| telemetry | target | conns | requests | 200 | non-2xx | errors | req/s | P50 ms | P95 ms | P99 ms |'
	);
	console.log('|---|---|---|---|---|---|---|---|---|---|---|');
	for (const r of rows) {
		console.log(
			`| ${r.mode} | ${r.target} | ${r.connections} | ${r.requests} | ${r.ok} | ${r.non2xx} | ${r.errors} | ${Math.round(r.rps)} | ${r.p50} | ${r.p95} | ${r.p99} |`
		);
	}
	for (const { mode, latencies, reference } of batches) {
		const sorted = [...latencies].sort((a, b) => a - b);
		const pct = (p: number) =>
			sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]?.toFixed(1);
		console.log(
			`\nBatch of 1,000 rows (REST, telemetry ${mode}, %d calls after %d untimed): P50 ${pct(50)} ms, P95 ${pct(95)} ms, max ${sorted.at(-1)?.toFixed(1)} ms (machine reference before / after: ${reference} ms)`,
			sorted.length,
			BATCH_WARMUP
		);
	}
	printOverhead(rows);
	printCeiling(ceiling, rows);
	console.log(`\nStored predictions: ${stored}; 200 responses × rows (incl. the warm-up calls): ${ok}`);
	if (stored !== ok) {
		console.error('MISMATCH: stored predictions differ from acknowledged decisions');
		process.exitCode = 1;
	} else {
		console.log('Every acknowledged decision was recorded.');
	}
}

/**
 * The bare node:http route at each concurrency, with the scoring body: what this machine's HTTP
 * stack and JSON parsing allow, with the load generator on the same cores.
 */
async function ceilingRuns(): Promise<Row[]> {
	const server = spawn(process.execPath, ['scripts/bench-ceiling.js', String(CEILING_PORT)], {
		stdio: ['ignore', 'pipe', 'inherit']
	});
	try {
		await once(server.stdout, 'data');
		const body = JSON.stringify({ applicant: applicants[0] });
		const result: Row[] = [];
		for (const connections of CONNECTIONS) {
			result.push(await run(CEILING, connections, '', '/', body, `http://127.0.0.1:${CEILING_PORT}`));
		}
		return result;
	} finally {
		server.kill('SIGTERM');
		await once(server, 'exit');
	}
}

/** Each door's throughput as a share of the ceiling at the same concurrency. */
function printCeiling(ceiling: readonly Row[], rows: readonly (Row & { mode: string })[]): void {
	if (ceiling.length === 0) return;
	console.log('\nAgainst the ceiling (a bare node:http route parsing the same JSON body, same machine)\n');
	console.log('| telemetry | target | conns | req/s | ceiling req/s | ratio |');
	console.log('|---|---|---|---|---|---|');
	for (const r of rows) {
		const top = ceiling.find((c) => c.connections === r.connections);
		if (!top) continue;
		console.log(
			`| ${r.mode} | ${r.target} | ${r.connections} | ${Math.round(r.rps)} | ${Math.round(top.rps)} | ${(r.rps / top.rps).toFixed(2)} |`
		);
	}
}

/** Telemetry on against off, per target and concurrency (means when a mode ran several times). */
function printOverhead(rows: readonly (Row & { mode: string })[]): void {
	if (!MODES.includes('on') || !MODES.includes('off')) return;
	const mean = (mode: string, target: string, connections: number, pick: (r: Row) => number) => {
		const matching = rows.filter(
			(r) => r.mode === mode && r.target === target && r.connections === connections
		);
		return matching.reduce((sum, r) => sum + pick(r), 0) / matching.length;
	};
	console.log('\nTelemetry overhead (on against off)\n');
	console.log('| target | conns | req/s off | req/s on | throughput change | P99 off ms | P99 on ms |');
	console.log('|---|---|---|---|---|---|---|');
	const seen = new Set<string>();
	for (const { target, connections } of rows) {
		const key = `${target} ${connections}`;
		if (seen.has(key)) continue;
		seen.add(key);
		const off = mean('off', target, connections, (r) => r.rps);
		const on = mean('on', target, connections, (r) => r.rps);
		console.log(
			`| ${target} | ${connections} | ${Math.round(off)} | ${Math.round(on)} | ${(((on - off) / off) * 100).toFixed(1)} % | ${mean('off', target, connections, (r) => r.p99).toFixed(1)} | ${mean('on', target, connections, (r) => r.p99).toFixed(1)} |`
		);
	}
}

async function prepareDatabase(): Promise<{ env: NodeJS.ProcessEnv; cleanup: () => Promise<void> }> {
	const base = benchEnv(PORT);
	if (usePglite) {
		rmSync('.data/bench', { recursive: true, force: true });
		return { env: { ...base, PGLITE_DIR }, cleanup: () => Promise.resolve() };
	}
	const database = await freshDatabase(
		process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
		'api'
	);
	return { env: { ...base, DATABASE_URL: database.url }, cleanup: database.drop };
}

async function run(
	target: string,
	connections: number,
	token: string,
	path: string,
	body: string,
	base = BASE
): Promise<Row> {
	const load = await fixedLoad({ url: `${base}${path}`, connections, amount: REQUESTS, body, token });
	const pct = (p: number) => Math.round(quantileOf(load.latencies, p) * 10) / 10;
	return {
		target,
		connections,
		requests: load.requests,
		ok: load.ok,
		non2xx: load.non2xx,
		errors: load.errors,
		rps: load.rps,
		p50: pct(0.5),
		p95: pct(0.95),
		p99: pct(0.99)
	};
}

async function batchRuns(token: string): Promise<number[]> {
	const body = JSON.stringify({ applicants: BATCH_ROWS });
	const latencies: number[] = [];
	for (let i = 0; i < BATCH_WARMUP + BATCH_CALLS; i++) {
		const ms = await batchCall(BASE, token, body);
		if (i >= BATCH_WARMUP) latencies.push(ms);
	}
	return latencies;
}

async function countStored(env: NodeJS.ProcessEnv): Promise<number> {
	if (env.DATABASE_URL) {
		const sql = postgres(env.DATABASE_URL, { max: 1 });
		const [row] = await sql<{ n: number }[]>`select count(*)::int as n from predictions`;
		await sql.end();
		return row?.n ?? -1;
	}
	const { PGlite } = await import('@electric-sql/pglite');
	const db = await PGlite.create(PGLITE_DIR);
	const result = await db.query<{ n: number }>('select count(*)::int as n from predictions');
	await db.close();
	return result.rows[0]?.n ?? -1;
}

await main();
