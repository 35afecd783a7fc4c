/**
 * `npm run bench:shadow`: what a version in shadow costs the champion. Starts the built server on a
 * fresh PostgreSQL database (BENCH_DATABASE_URL, default the local `…/test`'s server), then drives
 * `POST /api/v1/models/lending-club/score` with autocannon (BENCH_CONNECTIONS, default 64;
 * BENCH_REQUESTS per run, default 20,000), after BENCH_WARMUP untimed requests, in alternating
 * runs without and with `lending-club@scorecard-1.0.0` in shadow (BENCH_SHADOW, default
 * `off,on,off,on,off,on`), switched with
 * the CLI between runs on the same server. After each run it waits for the shadow queue to drain
 * and counts the shadow rows written for that run's decisions; the rest were dropped (queue full).
 * Prints req/s and latency percentiles per run and the means per mode.
 *
 * Figures depend on the machine; the load generator shares it with the server.
 */
import autocannon, { type Result } from 'autocannon';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import postgres from 'postgres';
import {
	benchEnv,
	createServiceAccount,
	fetchToken,
	freshDatabase,
	goldenApplicants,
	startServer,
	stopServer
} from './bench-server';

const PORT = Number(process.env.BENCH_PORT ?? 3498);
const BASE = `http://127.0.0.1:${PORT}`;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
/** Untimed requests before the first run (BENCH_WARMUP, default 10,000): a fresh server runs unoptimised code. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10_000);
const MODES = (process.env.BENCH_SHADOW ?? 'off,on,off,on,off,on').split(',').map((m) => m.trim());
for (const mode of MODES) {
	if (mode !== 'on' && mode !== 'off') throw new Error(`BENCH_SHADOW: expected on or off, got ${mode}`);
}
const MODEL = 'lending-club';
const SHADOW = 'scorecard-1.0.0';

interface Run {
	mode: string;
	ok: number;
	non2xx: number;
	errors: number;
	rps: number;
	p50: number;
	p99: number;
	shadowRows: number;
	/** The machine's 1-minute load average after the run (other work on a shared machine shows here). */
	load: number;
}

async function main(): Promise<void> {
	execFileSync(process.execPath, ['scripts/ensure-build.js'], { stdio: 'inherit' });
	const database = await freshDatabase(
		process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
		'shadow'
	);
	const env = { ...benchEnv(PORT), DATABASE_URL: database.url };
	const secret = createServiceAccount(env);
	const sql = postgres(database.url, { max: 1, onnotice: () => {} });
	const server = await startServer(env);
	const runs: Run[] = [];
	let inShadow = false;
	try {
		const token = await fetchToken(BASE, secret.clientId, secret.clientSecret);
		const body = JSON.stringify({ applicant: goldenApplicants()[0] });
		if (WARMUP > 0) await drive(token, body, WARMUP);
		for (const mode of MODES) {
			if ((mode === 'on') !== inShadow) {
				const args =
					mode === 'on'
						? ['model', 'shadow', MODEL, SHADOW, '--reason', 'shadow benchmark']
						: ['model', 'unshadow', MODEL, '--reason', 'shadow benchmark'];
				execFileSync('npx', ['tsx', 'src/cli/credible.ts', ...args], { env, stdio: 'inherit' });
				inShadow = mode === 'on';
				// The server follows by NOTIFY (or its 2 s check).
				await new Promise((resolve) => setTimeout(resolve, 3000));
			}
			const before = await shadowCount(sql);
			const run = await drive(token, body);
			// Let the shadow queue drain before counting what it wrote.
			let rows = -1;
			for (let settled = 0; settled < 3;) {
				await new Promise((resolve) => setTimeout(resolve, 500));
				const now = (await shadowCount(sql)) - before;
				settled = now === rows ? settled + 1 : 0;
				rows = now;
			}
			runs.push({ ...run, mode, shadowRows: rows, load: loadavg()[0] ?? 0 });
			console.log(
				`${mode}: ${Math.round(run.rps)} req/s, P99 ${run.p99} ms, ${rows} shadow rows for ${run.ok} decisions`
			);
		}
	} finally {
		await stopServer(server);
		await sql.end();
		await database.drop();
	}

	console.log(
		`\nShadow scoring cost (REST score, autocannon, ${CONNECTIONS} connections, ${REQUESTS} requests per run, load generator on the same machine)\n`
	);
	console.log(
		'| run | shadow | 200 | non-2xx | errors | req/s | P50 ms | P99 ms | shadow rows | not shadow-scored | load average |'
	);
	console.log('|---|---|---|---|---|---|---|---|---|---|---|');
	runs.forEach((r, i) =>
		console.log(
			`| ${i + 1} | ${r.mode} | ${r.ok} | ${r.non2xx} | ${r.errors} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.shadowRows} | ${r.mode === 'on' ? r.ok - r.shadowRows : '—'} | ${r.load.toFixed(1)} |`
		)
	);
	const mean = (mode: string, pick: (r: Run) => number) => {
		const of = runs.filter((r) => r.mode === mode);
		return of.reduce((sum, r) => sum + pick(r), 0) / Math.max(1, of.length);
	};
	if (MODES.includes('on') && MODES.includes('off')) {
		const off = mean('off', (r) => r.rps);
		const on = mean('on', (r) => r.rps);
		console.log(
			`\nMeans: off ${Math.round(off)} req/s, P99 ${mean('off', (r) => r.p99).toFixed(1)} ms; on ${Math.round(on)} req/s, P99 ${mean('on', (r) => r.p99).toFixed(1)} ms; throughput change ${(((on - off) / off) * 100).toFixed(1)} %`
		);
	}
}

async function shadowCount(sql: postgres.Sql): Promise<number> {
	const [row] = await sql<{ n: number }[]>`select count(*)::int as n from shadow_predictions`;
	return row?.n ?? 0;
}

async function drive(
	token: string,
	body: string,
	amount = REQUESTS
): Promise<Omit<Run, 'mode' | 'shadowRows' | 'load'>> {
	const latencies: number[] = [];
	const started = performance.now();
	let lastResponse = started;
	const result = await new Promise<Result>((resolve, reject) => {
		const instance = autocannon(
			{
				url: `${BASE}/api/v1/models/${MODEL}/score`,
				method: 'POST',
				connections: CONNECTIONS,
				amount,
				headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
				body
			},
			(error, summary) =>
				error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(summary)
		);
		instance.on('response', (_client, _status, _bytes, ms: number) => {
			latencies.push(ms);
			lastResponse = performance.now();
		});
	});
	latencies.sort((a, b) => a - b);
	const pct = (p: number) =>
		Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN) * 10) /
		10;
	return {
		ok: result['2xx'],
		non2xx: result.non2xx,
		errors: result.errors,
		rps: (result.requests.total * 1000) / Math.max(1, lastResponse - started),
		p50: pct(0.5),
		p99: pct(0.99)
	};
}

await main();
