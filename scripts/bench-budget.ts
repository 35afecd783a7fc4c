/**
 * `npm run bench:budget`: where the CPU of one recorded score goes, by stage (docs/performance.md,
 * "Cost budget per stage").
 *
 * Starts the built server on a fresh PostgreSQL database with V8's CPU profiler on every thread
 * (`--cpu-prof`, main thread and inference workers), drives BUDGET_REQUESTS single scores at
 * BUDGET_CONNECTIONS connections after BUDGET_WARMUP untimed ones, stops the server (which writes
 * the profiles), and attributes every sample taken during the timed run to a stage: the innermost
 * frame of a sample's stack that belongs to Credible's own code or a package decides, found through
 * the `// src/…` module markers the bundlers leave in the built files; Node's internals and V8's
 * builtins count for the code that called them. Counters read from /proc beside the profile: the
 * server's CPU (every thread, including the garbage collector's helpers and libuv's pool) and
 * PostgreSQL's CPU per request.
 *
 * BUDGET_TARGET: `rest` (default) or `trpc`; BUDGET_EXPLAIN=true asks for SHAP in the answer;
 * BUDGET_OTEL: `on` (default, as in production) or `off`; BUDGET_INTERVAL_US: the sampling
 * interval (default 1,000 µs, V8's own default). The profiler itself slows the server; read the stages as shares of a
 * request's CPU, and the throughput of `npm run bench:api` as the throughput.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
	benchEnv,
	createServiceAccount,
	fetchToken,
	freshDatabase,
	goldenApplicants,
	startServer,
	stopServer
} from './bench-server';
import { fixedLoad } from './bench-load';
import { classifierFor, type Stage } from './budget/classify';
import { processCpuMicros, postgresCpuMicros } from './budget/proc-cpu';
import { readProfile, samplesBetween } from './budget/profile';

const PORT = Number(process.env.BENCH_PORT ?? 3497);
const BASE = `http://127.0.0.1:${PORT}`;
const REQUESTS = Number(process.env.BUDGET_REQUESTS ?? 30_000);
const WARMUP = Number(process.env.BUDGET_WARMUP ?? 10_000);
const CONNECTIONS = Number(process.env.BUDGET_CONNECTIONS ?? 64);
const TARGET = process.env.BUDGET_TARGET ?? 'rest';
const EXPLAIN = process.env.BUDGET_EXPLAIN === 'true';
const OTEL = process.env.BUDGET_OTEL ?? 'on';
const INTERVAL_US = Number(process.env.BUDGET_INTERVAL_US ?? 1000);
/** How many stages get their top functions listed, and how many functions each. */
const TOP_STAGES = 6;
const TOP_FRAMES = 5;
const CORES = availableParallelism();
const PROFILE_DIR = path.resolve('.data/bench/budget-profiles');

if (TARGET !== 'rest' && TARGET !== 'trpc') throw new Error(`BUDGET_TARGET: rest or trpc, got ${TARGET}`);
if (OTEL !== 'on' && OTEL !== 'off') throw new Error(`BUDGET_OTEL: on or off, got ${OTEL}`);

/** The monotonic clock V8's profiler stamps samples with (CLOCK_MONOTONIC), in µs. */
const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

/** Drives `amount` single scores; the window ends at the last response. */
async function drive(token: string, amount: number): Promise<{ ok: number; other: number; last: number }> {
	const applicant = goldenApplicants()[0];
	const explain = EXPLAIN ? { explain: true } : {};
	const route =
		TARGET === 'rest'
			? { path: '/api/v1/models/lending-club/score', body: { applicant, ...explain } }
			: { path: '/trpc/scoring.score', body: { model: 'lending-club', applicant, ...explain } };
	const load = await fixedLoad({
		url: `${BASE}${route.path}`,
		connections: CONNECTIONS,
		amount,
		body: JSON.stringify(route.body),
		token
	});
	return { ok: load.ok, other: load.non2xx + load.errors, last: load.lastResponseAt };
}

const cpuTotal = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

interface Window {
	start: number;
	end: number;
	ok: number;
	other: number;
	serverCpu: number;
	postgresCpu: number;
	/** This process: autocannon, the load generator. */
	loadCpu: number;
}

async function measure(): Promise<Window> {
	execFileSync(process.execPath, ['scripts/ensure-build.js'], { stdio: 'inherit' });
	rmSync(PROFILE_DIR, { recursive: true, force: true });
	mkdirSync(PROFILE_DIR, { recursive: true });
	const database = await freshDatabase(
		process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
		'budget'
	);
	const env = {
		...benchEnv(PORT),
		DATABASE_URL: database.url,
		OTEL_SDK_DISABLED: OTEL === 'off' ? 'true' : 'false'
	};
	try {
		const secret = createServiceAccount(env);
		const server = await startServer(env, {
			nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-interval=${INTERVAL_US}`]
		});
		const pid = server.pid;
		if (pid === undefined) throw new Error('the server has no pid');
		try {
			const token = await fetchToken(BASE, secret.clientId, secret.clientSecret);
			await drive(token, WARMUP);
			const cpuBefore = processCpuMicros(pid);
			const postgresBefore = postgresCpuMicros();
			const loadBefore = process.cpuUsage();
			const start = nowMicros();
			const { ok, other, last } = await drive(token, REQUESTS);
			return {
				start,
				end: last,
				ok,
				other,
				serverCpu: processCpuMicros(pid) - cpuBefore,
				postgresCpu: postgresCpuMicros() - postgresBefore,
				loadCpu: cpuTotal(process.cpuUsage(loadBefore))
			};
		} finally {
			await stopServer(server);
		}
	} finally {
		await database.drop();
	}
}

function table(title: string, stages: Map<Stage, number>, requests: number, total: number): void {
	console.log(`\n${title}\n`);
	console.log('| stage | CPU µs per request | share |');
	console.log('|---|---:|---:|');
	const rows = [...stages.entries()].sort((a, b) => b[1] - a[1]);
	for (const [stage, micros] of rows) {
		console.log(
			`| ${stage} | ${(micros / requests).toFixed(1)} | ${((micros / total) * 100).toFixed(1)} % |`
		);
	}
	console.log(`| **total (busy)** | **${(total / requests).toFixed(1)}** | 100 % |`);
}

async function main(): Promise<void> {
	const window = await measure();
	const seconds = (window.end - window.start) / 1e6;
	const requests = window.ok + window.other;
	const files = readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile'));
	const main = new Map<Stage, number>();
	const workers = new Map<Stage, number>();
	let mainIdle = 0;
	let workerIdle = 0;
	let workerThreads = 0;
	const classifier = classifierFor(process.cwd());
	/** Main-thread time per stage and own frame, for the functions behind each stage. */
	const frames = new Map<Stage, Map<string, number>>();
	for (const file of files) {
		// CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
		const thread = Number(file.split('.')[4]);
		const profile = readProfile(path.join(PROFILE_DIR, file));
		const into = thread === 0 ? main : workers;
		if (thread !== 0) workerThreads++;
		for (const { node, micros } of samplesBetween(profile, window.start, window.end)) {
			const stage = classifier.stage(profile, node, thread === 0 ? 'main' : 'worker');
			if (stage === 'idle') {
				if (thread === 0) mainIdle += micros;
				else workerIdle += micros;
				continue;
			}
			into.set(stage, (into.get(stage) ?? 0) + micros);
			if (thread === 0) {
				let byFrame = frames.get(stage);
				if (!byFrame) frames.set(stage, (byFrame = new Map<string, number>()));
				const label = classifier.frameLabel(node);
				byFrame.set(label, (byFrame.get(label) ?? 0) + micros);
			}
		}
	}
	const sum = (m: Map<Stage, number>) => [...m.values()].reduce((a, b) => a + b, 0);
	const mainBusy = sum(main);
	const workerBusy = sum(workers);
	if (mainBusy === 0) {
		throw new Error(
			`no main-thread samples inside the timed window (${files.length} profiles in ${PROFILE_DIR})`
		);
	}

	console.log(
		`\nCost budget of one recorded score: ${TARGET === 'rest' ? 'REST POST /api/v1/models/lending-club/score' : 'tRPC scoring.score'}${EXPLAIN ? ' with SHAP in the answer' : ''}, telemetry ${OTEL}, ${CONNECTIONS} connections, PostgreSQL`
	);
	console.log(
		`Timed run: ${requests} requests (${window.ok} answered 200, ${window.other} not) in ${seconds.toFixed(2)} s = ${Math.round(requests / seconds)} req/s under the profiler (sampling every ${INTERVAL_US} µs, ${files.length} threads profiled)`
	);
	table('Main thread (event loop)', main, requests, mainBusy);
	console.log(
		`\nMain thread busy ${((mainBusy / (mainBusy + mainIdle)) * 100).toFixed(1)} % of the window (idle ${(mainIdle / requests).toFixed(1)} µs per request)`
	);
	console.log(
		`\nMain thread: the functions behind the ${TOP_STAGES} largest stages (own time, µs per request)\n`
	);
	const largest = [...main.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP_STAGES);
	for (const [stage] of largest) {
		const top = [...(frames.get(stage) ?? new Map<string, number>()).entries()]
			.sort((a, b) => b[1] - a[1])
			.slice(0, TOP_FRAMES)
			.map(([label, micros]) => `${label} ${(micros / requests).toFixed(1)}`);
		console.log(`- ${stage}: ${top.join('; ')}`);
	}
	table(`Inference workers (${workerThreads} threads, together)`, workers, requests, workerBusy);
	console.log(
		`\nWorkers busy ${((workerBusy / Math.max(1, workerBusy + workerIdle)) * 100).toFixed(1)} % of their time in the window`
	);
	console.log('\nCounters from /proc over the timed run\n');
	console.log('| process | CPU µs per request |');
	console.log('|---|---:|');
	console.log(`| server, every thread (/proc/<pid>/stat) | ${(window.serverCpu / requests).toFixed(1)} |`);
	console.log(
		`| of which sampled on the main thread and the workers | ${((mainBusy + workerBusy) / requests).toFixed(1)} |`
	);
	console.log(`| PostgreSQL, every process | ${(window.postgresCpu / requests).toFixed(1)} |`);
	console.log(`| load generator (autocannon, this process) | ${(window.loadCpu / requests).toFixed(1)} |`);
	const machine = window.serverCpu + window.postgresCpu + window.loadCpu;
	console.log(`| **all three** | **${(machine / requests).toFixed(1)}** |`);
	console.log(
		`\nAt that CPU per request, ${CORES} cores allow at most ${Math.round((CORES * 1e6 * requests) / machine)} recorded scores/s with the load generator on the same machine, or ${Math.round((CORES * 1e6 * requests) / (window.serverCpu + window.postgresCpu))} without it (the profiler's own cost included; see npm run bench:api for throughput without it).`
	);
	console.log(
		`\nProfiles: ${PROFILE_DIR} (open in Chrome DevTools or speedscope for the call trees behind a stage)`
	);
}

await main();
