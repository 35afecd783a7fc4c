/**
 * `npm run bench:faults`: the built server under a 64-connection scoring load while its
 * dependencies fail, one scenario at a time:
 *
 * - `pg-restart`: PostgreSQL stopped (`pg_ctl stop -m fast`), left down, started again;
 * - `redis-stop`: Redis shut down, left down, started again;
 * - `db-blocked`: every connection the server uses to record decisions held by slow statements
 *   (another session locks `predictions` and sleeps in `pg_sleep`), then released.
 *
 * For each it prints the requests answered 200, 503 with and without `Retry-After`, other statuses,
 * client errors and requests still unanswered after the client-side timeout (hung); the recovery
 * time (the fault repaired → the first 200 after it); and the decisions acknowledged (200) against
 * those found in `predictions` afterwards, by prediction id.
 *
 * PostgreSQL and Redis are private to this run: a cluster made with `initdb` in a temporary
 * directory on port 5544 and a `redis-server` on port 6391, both stopped at the end. The shared
 * services of the machine are never touched. Options: `--only <scenario,…>`, `--down <s>` (default
 * 5) how long each fault lasts, `--connections <n>` (default 64). Environment: BENCH_PG_BIN (default
 * /usr/lib/postgresql/15/bin), BENCH_KEEP_LOGS=1 keeps the logs.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { benchEnv, createServiceAccount, fetchToken, goldenApplicants } from './bench-server';

const { values: args } = parseArgs({
	options: {
		only: { type: 'string', default: 'pg-restart,redis-stop,db-blocked' },
		down: { type: 'string', default: '5' },
		'block-seconds': { type: 'string', default: '12' },
		connections: { type: 'string', default: '64' }
	}
});
const SCENARIOS = args.only.split(',').map((s) => s.trim());
const DOWN_S = Number(args.down);
/** How long `db-blocked` holds the lock: longer than the writer's deadline, to show the bound. */
const BLOCK_S = Number(args['block-seconds']);
/** The writer's deadline (WRITER_TIMEOUT_MS, its default). */
const WRITER_TIMEOUT_MS = 5_000;
const CONNECTIONS = Number(args.connections);
if (!(DOWN_S >= 1 && DOWN_S <= 60)) throw new Error('--down: 1 to 60 seconds');
if (!(CONNECTIONS >= 1 && CONNECTIONS <= 512)) throw new Error('--connections: 1 to 512');

const HOST = '127.0.0.1';
const SERVER_PORT = 3541;
const PG_PORT = 5544;
const REDIS_PORT = 6391;
const PG_BIN = process.env.BENCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const SCORE_PATH = '/api/v1/models/lending-club/score';
/** A request unanswered this long counts as hung. */
const CLIENT_TIMEOUT_MS = 20_000;
/** Load before the fault, and after it is repaired. */
const BEFORE_MS = 3_000;
const AFTER_MS = 5_000;

const workDir = mkdtempSync(path.join(tmpdir(), 'credible-faults-'));
chmodSync(workDir, 0o777);
const pgData = path.join(workDir, 'pg');
const children = new Set<ChildProcess>();
const asRoot = process.getuid?.() === 0;
const adminUrl = `postgres://postgres@${HOST}:${PG_PORT}/postgres`;
const dbUrl = `postgres://postgres@${HOST}:${PG_PORT}/credible`;

// ---------------------------------------------------------------------------------------------
// PostgreSQL and Redis of our own

/** Runs a PostgreSQL binary, as the `postgres` user when this runs as root (initdb refuses root). */
function pgTool(tool: string, argv: string[]): string {
	const binary = path.join(PG_BIN, tool);
	return asRoot
		? execFileSync('runuser', ['-u', 'postgres', '--', binary, ...argv], { encoding: 'utf8', stdio: 'pipe' })
		: execFileSync(binary, argv, { encoding: 'utf8', stdio: 'pipe' });
}

function pgStart(): void {
	pgTool('pg_ctl', [
		'-D',
		pgData,
		'-o',
		`-p ${PG_PORT} -k ${workDir} -c listen_addresses=${HOST} -c max_connections=100`,
		'-l',
		path.join(workDir, 'pg.log'),
		'-w',
		'start'
	]);
}

function pgStop(): void {
	pgTool('pg_ctl', ['-D', pgData, '-m', 'fast', '-w', 'stop']);
}

async function startPostgres(): Promise<void> {
	if (asRoot) execFileSync('chown', ['postgres', workDir]);
	pgTool('initdb', ['-D', pgData, '-U', 'postgres', '--auth=trust', '--no-sync']);
	pgStart();
	const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
	await admin.unsafe('create database credible');
	await admin.end();
}

function redisStart(): void {
	execFileSync('redis-server', [
		'--port',
		String(REDIS_PORT),
		'--bind',
		HOST,
		'--save',
		'',
		'--appendonly',
		'no',
		'--daemonize',
		'yes',
		'--dir',
		workDir,
		'--pidfile',
		path.join(workDir, 'redis.pid'),
		'--logfile',
		path.join(workDir, 'redis.log')
	]);
	for (let i = 0; i < 50; i++) {
		try {
			if (redisCli(['ping']).trim() === 'PONG') return;
		} catch {
			// not yet
		}
		execFileSync('sleep', ['0.1']);
	}
	throw new Error('redis-server did not start');
}

function redisCli(argv: string[]): string {
	return execFileSync('redis-cli', ['-h', HOST, '-p', String(REDIS_PORT), ...argv], {
		encoding: 'utf8',
		stdio: 'pipe'
	});
}

function redisStop(): void {
	try {
		redisCli(['shutdown', 'nosave']);
	} catch {
		// shutdown closes the connection before answering
	}
}

// ---------------------------------------------------------------------------------------------
// The server

async function startServer(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
	const out = openSync(path.join(workDir, 'server.log'), 'a');
	const child = spawn(process.execPath, ['server.js'], { env, stdio: ['ignore', out, out] });
	children.add(child);
	child.once('exit', () => children.delete(child));
	for (let i = 0; i < 600; i++) {
		if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}; see server.log`);
		if ((await get('/readyz')).status === 200) return child;
		await sleep(100);
	}
	throw new Error('the server did not become ready');
}

function get(pathname: string): Promise<{ status: number; body: string }> {
	return new Promise((resolve) => {
		const request = http.get(
			{ host: HOST, port: SERVER_PORT, path: pathname, agent: false, timeout: 2000 },
			(response) => {
				const chunks: Buffer[] = [];
				response.on('data', (chunk: Buffer) => chunks.push(chunk));
				response.on('end', () =>
					resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })
				);
			}
		);
		request.on('error', () => resolve({ status: 0, body: '' }));
		request.on('timeout', () => request.destroy());
	});
}

/** One value of a Prometheus metric line from `/metrics` (0 when absent). */
async function metric(name: string, labels = ''): Promise<number> {
	const { body } = await get('/metrics');
	for (const line of body.split('\n')) {
		if (line.startsWith('#')) continue;
		const [key, value] = line.split(' ');
		if (key === `${name}${labels}` || (labels === '' && key?.startsWith(`${name}{`))) return Number(value);
	}
	return 0;
}

// ---------------------------------------------------------------------------------------------
// Load

type Outcome =
	| { kind: 'ok'; predictionId: string; at: number }
	| { kind: '503'; retryAfter: boolean; at: number }
	| { kind: 'status'; status: number; at: number }
	| { kind: 'error'; error: string; at: number }
	| { kind: 'hung'; at: number };

/** Each answer's latency (ms). */
const latencies = new WeakMap<Outcome, number>();

function score(agent: http.Agent, token: string, body: string): Promise<Outcome> {
	const sent = performance.now();
	return new Promise((resolve) => {
		let settled = false;
		const finish = (outcome: Outcome) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			latencies.set(outcome, outcome.at - sent);
			resolve(outcome);
		};
		const request = http.request(
			{
				host: HOST,
				port: SERVER_PORT,
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
				const chunks: Buffer[] = [];
				response.on('data', (chunk: Buffer) => chunks.push(chunk));
				response.on('error', (error) =>
					finish({ kind: 'error', error: error.message, at: performance.now() })
				);
				response.on('end', () => {
					const at = performance.now();
					const status = response.statusCode ?? 0;
					if (status === 200) {
						const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { predictionId?: string };
						if (parsed.predictionId) finish({ kind: 'ok', predictionId: parsed.predictionId, at });
						else finish({ kind: 'status', status: 200, at });
					} else if (status === 503) {
						finish({ kind: '503', retryAfter: response.headers['retry-after'] !== undefined, at });
					} else finish({ kind: 'status', status, at });
				});
			}
		);
		const timer = setTimeout(() => {
			finish({ kind: 'hung', at: performance.now() });
			request.destroy();
		}, CLIENT_TIMEOUT_MS);
		request.on('error', (error: NodeJS.ErrnoException) =>
			finish({ kind: 'error', error: error.code ?? error.message, at: performance.now() })
		);
		request.end(body);
	});
}

/** `CONNECTIONS` loops, each sending its next request when the previous answered, until `done()`. */
async function drive(token: string, body: string, done: () => boolean): Promise<Outcome[]> {
	const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
	const outcomes: Outcome[] = [];
	await Promise.all(
		Array.from({ length: CONNECTIONS }, async () => {
			while (!done()) {
				const outcome = await score(agent, token, body);
				outcomes.push(outcome);
				// A 503 says when to come back; a client that honours it briefly backs off.
				if (outcome.kind !== 'ok') await sleep(outcome.kind === '503' ? 200 : 50);
			}
		})
	);
	agent.destroy();
	return outcomes;
}

async function storedOf(ids: readonly string[]): Promise<number> {
	const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
	try {
		let stored = 0;
		for (let i = 0; i < ids.length; i += 10_000) {
			const [row] = await sql<{ n: number }[]>`select count(*)::int as n from predictions
				where id = any(${ids.slice(i, i + 10_000)}::uuid[])`;
			stored += row?.n ?? 0;
		}
		return stored;
	} finally {
		await sql.end();
	}
}

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Figures {
	scenario: string;
	requests: number;
	ok: number;
	unavailableWithRetryAfter: number;
	unavailableWithout: number;
	other: Map<string, number>;
	hung: number;
	/** The slowest answer that was not a 200, in ms. */
	slowestFailureMs: number;
	recoveryMs: number;
	acknowledged: number;
	stored: number;
	notes: string[];
}

/**
 * Runs the load, breaks something `BEFORE_MS` in, repairs it `DOWN_S` later, and keeps the load
 * on `AFTER_MS` past the repair (and until the first 200 after it, at most 60 s).
 */
async function scenario(
	name: string,
	token: string,
	body: string,
	fault: { break: () => Promise<void> | void; repair: () => Promise<void> | void },
	downSeconds = DOWN_S
): Promise<Figures> {
	let repairedAt = Infinity;
	let stopAt = Infinity;
	const outcomes: Outcome[] = [];
	const started = performance.now();
	const load = drive(token, body, () => performance.now() >= stopAt || serverExited()).then((o) =>
		outcomes.push(...o)
	);
	await sleep(BEFORE_MS);
	const brokenAt = performance.now();
	await fault.break();
	await sleep(downSeconds * 1000);
	await fault.repair();
	repairedAt = performance.now();
	// Keep loading until the service answered 200 again, plus AFTER_MS.
	for (;;) {
		const probe = await scoreOnce(token, body);
		if (probe.kind === 'ok' || serverExited() || performance.now() - repairedAt > 60_000) break;
		await sleep(50);
	}
	stopAt = performance.now() + AFTER_MS;
	await load;
	const firstOkAfter = Math.min(
		...outcomes.filter((o) => o.kind === 'ok' && o.at >= repairedAt).map((o) => o.at)
	);
	const ids = outcomes.flatMap((o) => (o.kind === 'ok' ? [o.predictionId] : []));
	const other = new Map<string, number>();
	for (const o of outcomes) {
		const key =
			o.kind === 'status' ? `status ${o.status}` : o.kind === 'error' ? `error ${o.error}` : undefined;
		if (key) other.set(key, (other.get(key) ?? 0) + 1);
	}
	const count = (test: (o: Outcome) => boolean) => outcomes.filter(test).length;
	return {
		scenario: name,
		requests: outcomes.length,
		ok: ids.length,
		unavailableWithRetryAfter: count((o) => o.kind === '503' && o.retryAfter),
		unavailableWithout: count((o) => o.kind === '503' && !o.retryAfter),
		other,
		hung: count((o) => o.kind === 'hung'),
		slowestFailureMs: Math.max(
			0,
			...outcomes.filter((o) => o.kind !== 'ok').map((o) => latencies.get(o) ?? 0)
		),
		recoveryMs: firstOkAfter - repairedAt,
		acknowledged: ids.length,
		stored: await storedOf(ids),
		notes: [
			`fault at ${((brokenAt - started) / 1000).toFixed(1)} s for ${downSeconds} s`,
			...(serverExited()
				? [`THE SERVER EXITED (${server?.exitCode ?? server?.signalCode}); see its log`]
				: [])
		]
	};
}

const probeAgent = new http.Agent({ keepAlive: false });
/** The server under test; a scenario stops early when it exits. */
let server: ChildProcess | undefined;
const serverExited = () => server !== undefined && server.exitCode !== null;
function scoreOnce(token: string, body: string): Promise<Outcome> {
	return score(probeAgent, token, body);
}

/**
 * Makes every write of decisions a slow statement: another session locks `predictions` against
 * writes (EXCLUSIVE: reads go on) and sleeps, so the server's COPY and INSERT connections wait.
 */
function blockPredictions(seconds: number): { done: Promise<void> } {
	const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
	const done = sql
		.begin(async (tx) => {
			await tx`lock table predictions in exclusive mode`;
			await tx`select pg_sleep(${seconds})`;
		})
		.then(() => sql.end());
	return { done };
}

// ---------------------------------------------------------------------------------------------

async function cleanup(): Promise<void> {
	for (const child of children) child.kill('SIGKILL');
	await sleep(200);
	try {
		pgStop();
	} catch {
		// not running
	}
	redisStop();
	if (process.env.BENCH_KEEP_LOGS === '1') console.log(`Logs kept in ${workDir}`);
	else rmSync(workDir, { recursive: true, force: true });
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		if (interrupted) return;
		interrupted = true;
		console.error(`\n${signal}: stopping every process started here`);
		void cleanup().finally(() => process.exit(130));
	});
}

function report(f: Figures): boolean {
	const others = [...f.other].map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
	console.log(`\n${f.scenario} (${f.notes.join('; ')})`);
	console.log(
		`  requests ${f.requests}: 200 ${f.ok}, 503 with Retry-After ${f.unavailableWithRetryAfter}, 503 without ${f.unavailableWithout}, other ${others}, hung (> ${CLIENT_TIMEOUT_MS / 1000} s) ${f.hung}`
	);
	console.log(`  slowest answer other than 200: ${f.slowestFailureMs.toFixed(0)} ms`);
	console.log(
		`  recovery (repaired → first 200): ${Number.isFinite(f.recoveryMs) ? `${f.recoveryMs.toFixed(0)} ms` : 'never'}`
	);
	console.log(`  decisions acknowledged ${f.acknowledged}, stored ${f.stored}`);
	const checks = [
		['no hung request', f.hung === 0],
		['every 503 has Retry-After', f.unavailableWithout === 0],
		['no other error', f.other.size === 0],
		['recovered', Number.isFinite(f.recoveryMs)],
		['acknowledged = stored', f.acknowledged === f.stored],
		['the server stayed up', !serverExited()]
	] as const;
	for (const [name, pass] of checks) console.log(`  ${pass ? 'PASS' : 'FAIL'} ${name}`);
	return checks.every(([, pass]) => pass);
}

async function main(): Promise<void> {
	execFileSync(process.execPath, ['scripts/ensure-build.js'], { stdio: 'inherit' });
	if ((await get('/healthz')).status !== 0) throw new Error(`port ${SERVER_PORT} is in use`);
	await startPostgres();
	redisStart();
	const env: NodeJS.ProcessEnv = {
		...benchEnv(SERVER_PORT),
		DATABASE_URL: dbUrl,
		REDIS_URL: `redis://${HOST}:${REDIS_PORT}`
	};
	console.log(`PostgreSQL ${PG_PORT} and Redis ${REDIS_PORT} of this run; work dir ${workDir}`);
	const account = createServiceAccount(env);
	server = await startServer(env);
	const token = await fetchToken(`http://${HOST}:${SERVER_PORT}`, account.clientId, account.clientSecret);
	const body = JSON.stringify({ applicant: goldenApplicants()[0] });
	console.log(
		`${CONNECTIONS} connections; each fault lasts ${DOWN_S} s; a request unanswered after ${CLIENT_TIMEOUT_MS / 1000} s is hung`
	);

	const results: boolean[] = [];
	for (const name of SCENARIOS) {
		if (serverExited()) break;
		if (name === 'pg-restart') {
			results.push(report(await scenario(name, token, body, { break: pgStop, repair: pgStart })));
		} else if (name === 'redis-stop') {
			const before = await metric('credible_rate_limit_fallback_total');
			const f = await scenario(name, token, body, { break: redisStop, repair: redisStart });
			const fallbacks = (await metric('credible_rate_limit_fallback_total')) - before;
			// The restarted Redis counts from zero: the limiter's commands since it returned (this script
			// sent a few dozen PINGs and this INFO).
			const commands = Number(/total_commands_processed:(\d+)/.exec(redisCli(['info', 'stats']))?.[1] ?? 0);
			f.notes.push(
				`limiter decisions taken in memory: ${fallbacks}; commands Redis served after its restart: ${commands}`
			);
			const ok = report(f);
			const shared = commands > 100;
			console.log(`  ${fallbacks > 0 ? 'PASS' : 'FAIL'} the fallback is counted in a metric`);
			console.log(`  ${shared ? 'PASS' : 'FAIL'} limits back in Redis after it returned`);
			results.push(ok && fallbacks > 0 && shared);
		} else if (name === 'db-blocked') {
			let blocked: Promise<void> | undefined;
			const f = await scenario(
				name,
				token,
				body,
				{
					break: () => {
						blocked = blockPredictions(BLOCK_S).done;
					},
					repair: async () => {
						await blocked;
					}
				},
				BLOCK_S
			);
			const bound = WRITER_TIMEOUT_MS + 2_000;
			const ok = report(f);
			const bounded = f.slowestFailureMs <= bound && f.unavailableWithRetryAfter > 0;
			console.log(`  ${bounded ? 'PASS' : 'FAIL'} 503 answered within ${bound} ms (writer deadline + 2 s)`);
			results.push(ok && bounded);
		} else throw new Error(`unknown scenario ${name}`);
	}
	if (results.some((pass) => !pass)) process.exitCode = 1;
}

try {
	await main();
} catch (error) {
	console.error(error);
	process.exitCode = 1;
} finally {
	if (!interrupted) await cleanup();
}
