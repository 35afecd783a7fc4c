/**
 * `npm run bench:cluster`: three instances of the built server on one PostgreSQL database and one
 * Redis, behind nginx, under a 64-connection scoring load, restarted one at a time with SIGTERM as
 * a rolling update would. Prints the failed requests, the acknowledged decisions against the rows
 * in `predictions`, each instance's start-up time (spawn → `/readyz` 200) and drain time
 * (SIGTERM → exit), whether the alert raised under the load was raised (and posted) once, and —
 * with the three instances restarted on a low limit — whether the rate limit is shared.
 *
 * Options: `--duration <s>` (default 30) bounds the load (it runs on until the last restarted
 * instance is ready, plus 3 s); `--connections <n>` (default 64). Environment: BENCH_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/test; a fresh database is created next to it and
 * dropped at the end), BENCH_REDIS_URL (default redis://127.0.0.1:6379), BENCH_NGINX (default
 * `nginx` on the PATH), BENCH_KEEP_LOGS=1 keeps the instances' and nginx's logs.
 *
 * Everything listens on 127.0.0.1. Every process started here is stopped on exit or Ctrl-C.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { benchEnv, fetchToken, freshDatabase, goldenApplicants } from './bench-server';

const { values: args } = parseArgs({
	options: {
		duration: { type: 'string', default: '30' },
		connections: { type: 'string', default: '64' }
	}
});
const DURATION_S = Number(args.duration);
const CONNECTIONS = Number(args.connections);
if (!(DURATION_S >= 5 && DURATION_S <= 600)) throw new Error('--duration: 5 to 600 seconds');
if (!(CONNECTIONS >= 1 && CONNECTIONS <= 1024)) throw new Error('--connections: 1 to 1024');

const HOST = '127.0.0.1';
const NGINX_PORT = 3520;
const PORTS = [3521, 3522, 3523];
const NGINX = process.env.BENCH_NGINX ?? 'nginx';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCORE_PATH = '/api/v1/models/lending-club/score';
/** The rate-limit check: RATE_LIMIT_PER_SECOND × RATE_LIMIT_WINDOW_SECONDS per principal. */
const LIMIT_PER_SECOND = 20;
const LIMIT_WINDOW_S = 60;
const LIMIT = LIMIT_PER_SECOND * LIMIT_WINDOW_S;
/** Sent round-robin to the three instances: more than three times the limit. */
const PROBE_REQUESTS = 4 * LIMIT;

const workDir = mkdtempSync(path.join(tmpdir(), 'credible-cluster-'));
chmodSync(workDir, 0o755);
const children = new Set<ChildProcess>();
let dropDatabase: (() => Promise<void>) | undefined;
let webhookServer: http.Server | undefined;

interface Instance {
	name: string;
	port: number;
	child: ChildProcess;
	startupMs: number;
}

interface Timing {
	name: string;
	phase: string;
	startupMs: number;
	drainMs?: number;
}

const timings: Timing[] = [];

// ---------------------------------------------------------------------------------------------
// Processes

function spawnLogged(command: string, argv: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
	const out = openSync(path.join(workDir, log), 'a');
	const child = spawn(command, argv, { env, stdio: ['ignore', out, out] });
	children.add(child);
	child.once('exit', () => children.delete(child));
	return child;
}

/** Starts an instance and waits for `/readyz` 200 (polled every 50 ms). */
async function startInstance(env: NodeJS.ProcessEnv, name: string, port: number): Promise<Instance> {
	const started = performance.now();
	const child = spawnLogged(
		process.execPath,
		['server.js'],
		{ ...env, PORT: String(port), HOSTNAME: name },
		`${name}.log`
	);
	const deadline = started + 120_000;
	while (performance.now() < deadline) {
		if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see its log`);
		const status = await getStatus(`http://${HOST}:${port}/readyz`);
		if (status === 200) return { name, port, child, startupMs: performance.now() - started };
		await sleep(50);
	}
	child.kill('SIGKILL');
	throw new Error(`${name} did not become ready within 120 s`);
}

/** SIGTERM, then the time until the process has exited (its drain). */
async function stopInstance(instance: Instance): Promise<number> {
	const started = performance.now();
	if (instance.child.exitCode !== null) return 0;
	const exited = new Promise((resolve) => instance.child.once('exit', resolve));
	instance.child.kill('SIGTERM');
	await exited;
	if (instance.child.exitCode !== 0) console.warn(`${instance.name} exited with ${instance.child.exitCode}`);
	return performance.now() - started;
}

function getStatus(url: string): Promise<number> {
	return new Promise((resolve) => {
		const request = http.get(url, { agent: false, timeout: 1000 }, (response) => {
			response.resume();
			resolve(response.statusCode ?? 0);
		});
		request.on('error', () => resolve(0));
		request.on('timeout', () => request.destroy());
	});
}

/**
 * nginx in the foreground with its own prefix. Retries: a request that could not reach an instance
 * (connection refused, reset, or a 502/503 from it) goes to the next instance. For POST, nginx
 * retries by default only when nothing was sent; a request with an `Idempotency-Key` is retried
 * even after it was sent (`non_idempotent`), because the application answers a repeated key with
 * the decision already recorded instead of recording a second one. Requests without the header
 * keep nginx's default.
 */
async function startNginx(): Promise<ChildProcess> {
	const servers = PORTS.map((port) => `\t\tserver ${HOST}:${port} max_fails=1 fail_timeout=2s;`).join('\n');
	const proxy = `proxy_pass http://credible;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
			proxy_set_header X-Forwarded-For $remote_addr;
			proxy_connect_timeout 2s;
			proxy_next_upstream_tries 3;`;
	// One process (no master with workers), so that no worker outlives a killed nginx.
	const config = `daemon off;
master_process off;
pid ${workDir}/nginx.pid;
error_log ${workDir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
	log_format upstreams '$msec $status $request_method $uri "$upstream_addr" "$upstream_status" $request_time';
	access_log ${workDir}/nginx-access.log upstreams;
	client_body_temp_path ${workDir}/client_body;
	proxy_temp_path ${workDir}/proxy;
	fastcgi_temp_path ${workDir}/fastcgi;
	uwsgi_temp_path ${workDir}/uwsgi;
	scgi_temp_path ${workDir}/scgi;
	upstream credible {
${servers}
		keepalive 128;
	}
	server {
		listen ${HOST}:${NGINX_PORT};
		location / {
			error_page 418 = @idempotent;
			if ($http_idempotency_key) { return 418; }
			${proxy}
			proxy_next_upstream error timeout http_502 http_503;
		}
		location @idempotent {
			${proxy}
			proxy_next_upstream error timeout http_502 http_503 non_idempotent;
		}
	}
}
`;
	const file = path.join(workDir, 'nginx.conf');
	writeFileSync(file, config);
	execFileSync(NGINX, ['-t', '-p', workDir, '-c', file, '-e', path.join(workDir, 'nginx-error.log')], {
		stdio: 'pipe'
	});
	const child = spawnLogged(
		NGINX,
		['-p', workDir, '-c', file, '-e', path.join(workDir, 'nginx-error.log')],
		process.env,
		'nginx.out'
	);
	for (let i = 0; i < 100; i++) {
		if (child.exitCode !== null) throw new Error('nginx exited; see nginx-error.log');
		if ((await getStatus(`http://${HOST}:${NGINX_PORT}/healthz`)) !== 0) return child;
		await sleep(50);
	}
	throw new Error('nginx did not start listening');
}

/** Receives the alert webhook: one entry per POST. */
async function startWebhook(): Promise<{
	url: string;
	posts: { event: string; rule: string; key: string }[];
}> {
	const posts: { event: string; rule: string; key: string }[] = [];
	webhookServer = http.createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => {
			try {
				const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
					event: string;
					alert: { rule: string; key: string };
				};
				posts.push({ event: body.event, rule: body.alert.rule, key: body.alert.key });
			} catch {
				posts.push({ event: 'unreadable', rule: '', key: '' });
			}
			response.statusCode = 204;
			response.end();
		});
	});
	await new Promise<void>((resolve) => webhookServer?.listen(0, HOST, resolve));
	const { port } = webhookServer.address() as AddressInfo;
	return { url: `http://${HOST}:${port}/hook`, posts };
}

// ---------------------------------------------------------------------------------------------
// Load

interface LoadResult {
	sent: number;
	ok: number;
	statuses: Map<number, number>;
	errors: Map<string, number>;
	latencies: number[];
	durationMs: number;
}

function post(
	agent: http.Agent,
	port: number,
	token: string,
	body: string
): Promise<{ status: number } | { error: string }> {
	return new Promise((resolve) => {
		const request = http.request(
			{
				host: HOST,
				port,
				path: SCORE_PATH,
				method: 'POST',
				agent,
				headers: {
					'content-type': 'application/json',
					'content-length': Buffer.byteLength(body),
					authorization: `Bearer ${token}`,
					'idempotency-key': randomUUID()
				}
			},
			(response) => {
				response.resume();
				response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
				response.on('error', (error) => resolve({ error: error.message }));
			}
		);
		request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
		request.end(body);
	});
}

/** `connections` loops, each sending its next request when the previous answered, until `done()`. */
async function drive(options: {
	connections: number;
	ports: readonly number[];
	token: string;
	body: string;
	done: () => boolean;
}): Promise<LoadResult> {
	const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
	const result: LoadResult = {
		sent: 0,
		ok: 0,
		statuses: new Map(),
		errors: new Map(),
		latencies: [],
		durationMs: 0
	};
	const started = performance.now();
	let next = 0;
	const loop = async () => {
		while (!options.done()) {
			const port = options.ports[next++ % options.ports.length] ?? NGINX_PORT;
			const t0 = performance.now();
			result.sent++;
			const outcome = await post(agent, port, options.token, options.body);
			result.latencies.push(performance.now() - t0);
			if ('error' in outcome) result.errors.set(outcome.error, (result.errors.get(outcome.error) ?? 0) + 1);
			else {
				result.statuses.set(outcome.status, (result.statuses.get(outcome.status) ?? 0) + 1);
				if (outcome.status === 200) result.ok++;
			}
		}
	};
	await Promise.all(Array.from({ length: options.connections }, loop));
	result.durationMs = performance.now() - started;
	agent.destroy();
	return result;
}

// ---------------------------------------------------------------------------------------------
// Database

function createServiceAccount(env: NodeJS.ProcessEnv, name: string): { clientId: string; secret: string } {
	const out = execFileSync(
		'npx',
		['tsx', 'src/cli/credible.ts', 'service-account', 'create', name, '--role', 'scorer'],
		{ env, encoding: 'utf8' }
	);
	const clientId = /client[ _-]?id:?\s+(\S+)/i.exec(out)?.[1];
	const secret = /client[ _-]?secret:?\s+(\S+)/i.exec(out)?.[1];
	if (!clientId || !secret) throw new Error(`could not read the credentials from:\n${out}`);
	return { clientId, secret };
}

async function query<T>(url: string, text: string): Promise<T[]> {
	const sql = postgres(url, { max: 1, onnotice: () => {} });
	try {
		return (await sql.unsafe(text)) as unknown as T[];
	} finally {
		await sql.end();
	}
}

async function countPredictions(url: string): Promise<number> {
	const [row] = await query<{ n: number }>(url, 'select count(*)::int as n from predictions');
	return row?.n ?? -1;
}

// ---------------------------------------------------------------------------------------------

/** Fails unless nothing listens on the ports this benchmark uses. */
async function checkPortsFree(): Promise<void> {
	for (const port of [NGINX_PORT, ...PORTS]) {
		if ((await getStatus(`http://${HOST}:${port}/healthz`)) !== 0)
			throw new Error(`port ${port} is in use on ${HOST}; stop what listens there first`);
	}
}

async function cleanup(): Promise<void> {
	const exits = [...children].map((child) => new Promise((resolve) => child.once('exit', resolve)));
	for (const child of children) child.kill('SIGKILL');
	await Promise.race([Promise.all(exits), sleep(5000)]);
	webhookServer?.close();
	if (dropDatabase) await dropDatabase().catch((error: unknown) => console.error(error));
	dropDatabase = undefined;
	if (process.env.BENCH_KEEP_LOGS === '1') console.log(`Logs kept in ${workDir}`);
	else rmSync(workDir, { recursive: true, force: true });
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		if (interrupted) return;
		interrupted = true;
		console.error(`\n${signal}: stopping every process and dropping the database`);
		void cleanup().finally(() => process.exit(130));
	});
}

function percentile(sorted: readonly number[], p: number): string {
	return (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN).toFixed(1);
}

function retriedByNginx(): { retried: number; lines: string[] } {
	let text = '';
	try {
		text = readFileSync(path.join(workDir, 'nginx-access.log'), 'utf8');
	} catch {
		return { retried: 0, lines: [] };
	}
	const lines = text.split('\n').filter((line) => line.includes(SCORE_PATH) && line.includes(', '));
	return { retried: lines.length, lines };
}

/** nginx's upstream errors, counted by kind (connection refused, reset, …). */
function upstreamErrors(): Map<string, number> {
	const counts = new Map<string, number>();
	let text = '';
	try {
		text = readFileSync(path.join(workDir, 'nginx-error.log'), 'utf8');
	} catch {
		return counts;
	}
	for (const line of text.split('\n')) {
		const kind = /\[error\] [\d#]+: \*\d+ (.*?), client:/.exec(line)?.[1];
		if (kind) counts.set(kind, (counts.get(kind) ?? 0) + 1);
	}
	return counts;
}

async function main(): Promise<void> {
	execFileSync(process.execPath, ['scripts/ensure-build.js'], { stdio: 'inherit' });
	await checkPortsFree();
	const database = await freshDatabase(
		process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
		'cluster'
	);
	dropDatabase = database.drop;
	const webhook = await startWebhook();
	const env: NodeJS.ProcessEnv = {
		...benchEnv(PORTS[0] ?? 3521),
		DATABASE_URL: database.url,
		REDIS_URL,
		ALERT_WEBHOOK_URL: webhook.url,
		// Rules evaluated often, so that the alert below is raised within the run.
		ALERT_EVAL_INTERVAL_SECONDS: '2',
		ALERT_PSI_MIN_SAMPLES: '200'
	};
	console.log(`Database ${new URL(database.url).pathname.slice(1)}, Redis ${REDIS_URL}, work dir ${workDir}`);
	const load = createServiceAccount(env, 'cluster-load');
	const probe = createServiceAccount(env, 'cluster-probe');

	// Phase 1: three instances behind nginx, a rolling restart under load.
	const instances = await Promise.all(PORTS.map((port, i) => startInstance(env, `instance-${i + 1}`, port)));
	for (const instance of instances)
		timings.push({ name: instance.name, phase: 'first start (3 at once)', startupMs: instance.startupMs });
	await startNginx();
	const base = `http://${HOST}:${NGINX_PORT}`;
	const token = await fetchToken(base, load.clientId, load.secret);
	// One golden applicant for every request: a real row, and a score distribution far from the
	// training reference, so the shared `score_shift` rule fires during the run.
	const body = JSON.stringify({ applicant: goldenApplicants()[0] });

	const loadStarted = performance.now();
	let restartsDone = false;
	let restartsEndedAt = Infinity;
	const loadDone = () =>
		restartsDone &&
		performance.now() - loadStarted >= DURATION_S * 1000 &&
		performance.now() - restartsEndedAt >= 3000;
	const loadRun = drive({ connections: CONNECTIONS, ports: [NGINX_PORT], token, body, done: loadDone });

	const rolling = (async () => {
		await sleep(Math.min(5000, DURATION_S * 200));
		for (let i = 0; i < instances.length; i++) {
			const old = instances[i];
			if (!old) continue;
			const drainMs = await stopInstance(old);
			const fresh = await startInstance(env, `${old.name}-restarted`, old.port);
			timings.push({ name: old.name, phase: 'rolling restart', startupMs: fresh.startupMs, drainMs });
			instances[i] = fresh;
			console.log(
				`  ${old.name}: drained in ${drainMs.toFixed(0)} ms, restarted and ready in ${fresh.startupMs.toFixed(0)} ms`
			);
		}
		restartsEndedAt = performance.now();
		restartsDone = true;
	})();
	const [result] = await Promise.all([loadRun, rolling]);

	// Let the evaluators raise (and post) what the load caused before the instances stop.
	for (let i = 0; i < 20; i++) {
		const [row] = await query<{ n: number }>(
			database.url,
			"select count(*)::int as n from alerts where rule = 'score_shift'"
		);
		if ((row?.n ?? 0) > 0) break;
		await sleep(500);
	}
	for (const instance of instances) {
		const drainMs = await stopInstance(instance);
		timings.push({ name: instance.name, phase: 'final stop', startupMs: NaN, drainMs });
	}
	const storedAfterLoad = await countPredictions(database.url);

	// Phase 2: the same three instances started on a low limit; one client sends four times the
	// limit round-robin straight to them.
	const limitedEnv = {
		...env,
		RATE_LIMIT_PER_SECOND: String(LIMIT_PER_SECOND),
		RATE_LIMIT_WINDOW_SECONDS: String(LIMIT_WINDOW_S)
	};
	const limited = await Promise.all(
		PORTS.map((port, i) => startInstance(limitedEnv, `limited-${i + 1}`, port))
	);
	for (const instance of limited)
		timings.push({ name: instance.name, phase: 'start on a low limit', startupMs: instance.startupMs });
	const probeToken = await fetchToken(`http://${HOST}:${PORTS[0]}`, probe.clientId, probe.secret);
	const perInstance = PORTS.map(() => ({ ok: 0, limited: 0, other: 0 }));
	let probeSent = 0;
	const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 24 });
	const probeStarted = performance.now();
	await Promise.all(
		Array.from({ length: 24 }, async () => {
			while (probeSent < PROBE_REQUESTS) {
				const index = probeSent++ % PORTS.length;
				const counts = perInstance[index];
				const outcome = await post(probeAgent, PORTS[index] ?? 0, probeToken, body);
				if (!counts) continue;
				if ('error' in outcome) counts.other++;
				else if (outcome.status === 200) counts.ok++;
				else if (outcome.status === 429) counts.limited++;
				else counts.other++;
			}
		})
	);
	const probeMs = performance.now() - probeStarted;
	probeAgent.destroy();
	for (const instance of limited) {
		const drainMs = await stopInstance(instance);
		timings.push({ name: instance.name, phase: 'final stop (low limit)', startupMs: NaN, drainMs });
	}
	const storedAtEnd = await countPredictions(database.url);
	const alertRows = await query<{ rule: string; key: string; n: number }>(
		database.url,
		'select rule, key, count(*)::int as n from alerts group by rule, key order by rule, key'
	);
	const nginxRetries = retriedByNginx();

	// -------------------------------------------------------------------------------------------
	// Report
	const checks: { name: string; pass: boolean }[] = [];
	const failed = result.sent - result.ok;
	const sorted = [...result.latencies].sort((a, b) => a - b);
	console.log(
		`\nLoad: ${CONNECTIONS} connections through nginx for ${(result.durationMs / 1000).toFixed(1)} s, one rolling restart of 3 instances`
	);
	console.log(
		`  requests ${result.sent}, 200 ${result.ok}, failed ${failed}; ${Math.round((result.sent * 1000) / result.durationMs)} req/s; P50 ${percentile(sorted, 0.5)} ms, P95 ${percentile(sorted, 0.95)} ms, P99 ${percentile(sorted, 0.99)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(0)} ms`
	);
	for (const [status, n] of result.statuses) if (status !== 200) console.log(`  status ${status}: ${n}`);
	for (const [error, n] of result.errors) console.log(`  error ${error}: ${n}`);
	console.log(`  requests nginx passed to a second instance: ${nginxRetries.retried}`);
	for (const [kind, n] of upstreamErrors()) console.log(`    nginx: ${kind}: ${n}`);
	checks.push({ name: 'no failed request', pass: failed === 0 });

	console.log(`\nDecisions: acknowledged (200) ${result.ok}, stored in predictions ${storedAfterLoad}`);
	checks.push({ name: 'acknowledged = stored', pass: result.ok === storedAfterLoad });

	const admitted = perInstance.reduce((sum, c) => sum + c.ok, 0);
	console.log(
		`\nRate limit (${LIMIT_PER_SECOND}/s × ${LIMIT_WINDOW_S} s window = ${LIMIT} per client, Redis): ${PROBE_REQUESTS} requests of one client round-robin to the 3 instances in ${(probeMs / 1000).toFixed(1)} s`
	);
	perInstance.forEach((c, i) =>
		console.log(`  port ${PORTS[i]}: 200 ${c.ok}, 429 ${c.limited}, other ${c.other}`)
	);
	console.log(`  admitted ${admitted} (limit ${LIMIT}; per-instance counting would admit ${3 * LIMIT})`);
	checks.push({ name: 'rate limit shared (admitted = limit)', pass: admitted === LIMIT });
	checks.push({
		name: 'probe decisions stored',
		pass: storedAtEnd - storedAfterLoad === admitted
	});

	console.log('\nAlerts (rows in alerts, webhook posts per event):');
	const shared = alertRows.filter((row) => row.rule === 'score_shift');
	for (const row of alertRows) {
		const raised = webhook.posts.filter(
			(p) => p.event === 'alert.raised' && p.rule === row.rule && p.key === row.key
		).length;
		const resolved = webhook.posts.filter(
			(p) => p.event === 'alert.resolved' && p.rule === row.rule && p.key === row.key
		).length;
		console.log(
			`  ${row.rule} ${row.key}: ${row.n} row(s), raised posted ${raised}, resolved posted ${resolved}`
		);
		checks.push({ name: `alert ${row.rule} ${row.key} raised once`, pass: row.n === 1 && raised === 1 });
	}
	checks.push({ name: 'the shared score_shift alert was raised', pass: shared.length > 0 });

	console.log('\nInstances: start-up (spawn → /readyz 200) and drain (SIGTERM → exit), ms');
	console.log('| instance | phase | start-up ms | drain ms |');
	console.log('|---|---|---|---|');
	for (const t of timings)
		console.log(
			`| ${t.name} | ${t.phase} | ${Number.isNaN(t.startupMs) ? '' : t.startupMs.toFixed(0)} | ${t.drainMs === undefined ? '' : t.drainMs.toFixed(0)} |`
		);

	console.log('');
	for (const check of checks) console.log(`${check.pass ? 'PASS' : 'FAIL'} ${check.name}`);
	if (checks.some((check) => !check.pass)) process.exitCode = 1;
}

try {
	await main();
} catch (error) {
	console.error(error);
	process.exitCode = 1;
} finally {
	if (!interrupted) await cleanup();
}
