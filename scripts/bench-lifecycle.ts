/**
 * `npm run bench:lifecycle`: two instances of the built server on one fresh PostgreSQL database,
 * a scoring load spread over both (no proxy: each connection talks to one instance), and ten
 * promote / rollback cycles made with the CLI while the load runs. Prints the failed requests, the
 * switch time on each instance — from the change's commit to the first answer from that instance
 * naming the new champion — as max and median, and whether the stored decisions equal the
 * acknowledged ones, each with the version its answer named.
 *
 * Each cycle promotes a fresh copy of the shipped scorecard (uploaded with the CLI before the
 * load, as `scorecard-1.9.<n>`) over xgb-1.0.0 and rolls it back: a version rolled back is
 * retired and cannot be promoted again. The commit of each change is seen by polling the model's
 * generation on a separate connection every 2 ms while the CLI runs. The promotion guard is off
 * (GUARD_PERIOD_SECONDS=0): the changes here are the bench's own.
 *
 * Options: `--connections <n>` (default 64), `--cycles <n>` (default 10), `--pause <ms>` between
 * changes (default 1500). Environment: BENCH_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test; a fresh database is created next to it and dropped at
 * the end), BENCH_KEEP_LOGS=1 keeps the instances' logs. Everything listens on 127.0.0.1; every
 * process started here is stopped on exit or Ctrl-C.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { benchEnv, createServiceAccount, fetchToken, freshDatabase, goldenApplicants } from './bench-server';

const run = promisify(execFile);

const { values: args } = parseArgs({
	options: {
		connections: { type: 'string', default: '64' },
		cycles: { type: 'string', default: '10' },
		pause: { type: 'string', default: '1500' }
	}
});
const CONNECTIONS = Number(args.connections);
const CYCLES = Number(args.cycles);
const PAUSE_MS = Number(args.pause);
if (!(CONNECTIONS >= 2 && CONNECTIONS <= 1024)) throw new Error('--connections: 2 to 1024');
if (!(CYCLES >= 1 && CYCLES <= 50)) throw new Error('--cycles: 1 to 50');
if (!(PAUSE_MS >= 0 && PAUSE_MS <= 60_000)) throw new Error('--pause: 0 to 60000 ms');

const HOST = '127.0.0.1';
const PORTS = [3541, 3542];
const MODEL = 'lending-club';
const BASE_VERSION = 'xgb-1.0.0';
const SCORE_PATH = `/api/v1/models/${MODEL}/score`;

const workDir = mkdtempSync(path.join(tmpdir(), 'credible-lifecycle-'));
const children = new Set<ChildProcess>();
let dropDatabase: (() => Promise<void>) | undefined;

function spawnLogged(argv: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
	const out = openSync(path.join(workDir, log), 'a');
	const child = spawn(process.execPath, argv, { env, stdio: ['ignore', out, out] });
	children.add(child);
	child.once('exit', () => children.delete(child));
	return child;
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

async function startInstance(env: NodeJS.ProcessEnv, name: string, port: number): Promise<ChildProcess> {
	const child = spawnLogged(['server.js'], { ...env, PORT: String(port), HOSTNAME: name }, `${name}.log`);
	const deadline = performance.now() + 120_000;
	while (performance.now() < deadline) {
		if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see its log`);
		if ((await getStatus(`http://${HOST}:${port}/readyz`)) === 200) return child;
		await sleep(50);
	}
	throw new Error(`${name} did not become ready within 120 s`);
}

/** One acknowledged (200) answer: which instance, when it arrived, and what it named. */
interface Answer {
	port: number;
	at: number;
	version: string;
	predictionId: string;
}

interface Load {
	sent: number;
	answers: Answer[];
	failures: Map<string, number>;
}

function post(
	agent: http.Agent,
	port: number,
	token: string,
	body: string
): Promise<{ status: number; text: string } | { error: string }> {
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
				let text = '';
				response.setEncoding('utf8');
				response.on('data', (chunk: string) => (text += chunk));
				response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
				response.on('error', (error) => resolve({ error: error.message }));
			}
		);
		request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
		request.end(body);
	});
}

/** `connections` loops, half on each instance, each sending its next request when the last answered. */
async function drive(token: string, bodies: readonly string[], done: () => boolean): Promise<Load> {
	const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
	const load: Load = { sent: 0, answers: [], failures: new Map() };
	const fail = (what: string) => load.failures.set(what, (load.failures.get(what) ?? 0) + 1);
	const loop = async (connection: number) => {
		const port = PORTS[connection % PORTS.length] ?? 0;
		let i = connection;
		while (!done()) {
			load.sent++;
			const outcome = await post(agent, port, token, bodies[i++ % bodies.length] ?? '{}');
			if ('error' in outcome) {
				fail(outcome.error);
				continue;
			}
			if (outcome.status !== 200) {
				fail(`HTTP ${outcome.status}`);
				continue;
			}
			const answer = JSON.parse(outcome.text) as { model?: { version?: string }; predictionId?: string };
			if (!answer.model?.version || !answer.predictionId) {
				fail('200 without a version or prediction id');
				continue;
			}
			load.answers.push({
				port,
				at: performance.now(),
				version: answer.model.version,
				predictionId: answer.predictionId
			});
		}
	};
	await Promise.all(Array.from({ length: CONNECTIONS }, (_, connection) => loop(connection)));
	agent.destroy();
	return load;
}

/** A copy of the shipped scorecard as `version`, packed with `tar` as an operator would. */
function bundleArchive(version: string): string {
	const dir = path.join(workDir, `bundle-${version}`);
	cpSync('models/lending-club/scorecard-1.0.0', dir, { recursive: true });
	const manifestPath = path.join(dir, 'manifest.json');
	const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { model: { version: string } };
	manifest.model.version = version;
	writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
	const file = path.join(workDir, `${version}.tar.gz`);
	execFileSync('tar', ['-czf', file, '-C', dir, '.']);
	return file;
}

function credible(env: NodeJS.ProcessEnv, argv: string[]): Promise<unknown> {
	return run('npx', ['tsx', 'src/cli/credible.ts', ...argv], { env, encoding: 'utf8' });
}

/** One registry change: runs the CLI while polling the generation; the first time it moved is the commit. */
async function change(
	sql: postgres.Sql,
	env: NodeJS.ProcessEnv,
	argv: string[]
): Promise<{ committedAt: number }> {
	const generation = async () =>
		Number((await sql`select generation from models where id = ${MODEL}`)[0]?.generation ?? -1);
	const before = await generation();
	let finished = false;
	const cli = credible(env, argv).finally(() => (finished = true));
	let committedAt = NaN;
	for (;;) {
		const now = performance.now();
		if ((await generation()) !== before) {
			committedAt = now;
			break;
		}
		if (finished) {
			await cli;
			if ((await generation()) !== before) committedAt = performance.now();
			break;
		}
		await sleep(2);
	}
	await cli;
	if (Number.isNaN(committedAt)) throw new Error(`${argv.join(' ')} changed nothing`);
	return { committedAt };
}

function median(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	if (sorted.length === 0) return NaN;
	return sorted.length % 2
		? (sorted[middle] ?? NaN)
		: ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

async function cleanup(): Promise<void> {
	const exits = [...children].map((child) => new Promise((resolve) => child.once('exit', resolve)));
	for (const child of children) child.kill('SIGKILL');
	await Promise.race([Promise.all(exits), sleep(5000)]);
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

interface Switch {
	cycle: number;
	kind: 'promote' | 'rollback';
	version: string;
	committedAt: number;
}

async function main(): Promise<void> {
	execFileSync(process.execPath, ['scripts/ensure-build.js'], { stdio: 'inherit' });
	for (const port of PORTS) {
		if ((await getStatus(`http://${HOST}:${port}/healthz`)) !== 0)
			throw new Error(`port ${port} is in use on ${HOST}; stop what listens there first`);
	}
	const database = await freshDatabase(
		process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
		`lifecycle_${randomUUID().slice(0, 8)}`
	);
	dropDatabase = database.drop;
	const env: NodeJS.ProcessEnv = {
		...benchEnv(PORTS[0] ?? 3541),
		DATABASE_URL: database.url,
		GUARD_PERIOD_SECONDS: '0'
	};
	console.log(`Database ${new URL(database.url).pathname.slice(1)}, work dir ${workDir}`);
	const account = createServiceAccount(env);
	await Promise.all(PORTS.map((port, i) => startInstance(env, `instance-${i + 1}`, port)));

	const versions = Array.from({ length: CYCLES }, (_, i) => `scorecard-1.9.${i + 1}`);
	console.log(`Uploading ${CYCLES} versions with the CLI…`);
	for (const version of versions)
		await credible(env, ['model', 'upload', bundleArchive(version), '--reason', 'lifecycle bench']);

	const token = await fetchToken(`http://${HOST}:${PORTS[0]}`, account.clientId, account.clientSecret);
	const bodies = goldenApplicants().map((applicant) => JSON.stringify({ applicant }));
	const sql = postgres(database.url, { max: 1, onnotice: () => {} });
	let cyclesDone = false;
	const loadRun = drive(token, bodies, () => cyclesDone);
	const switches: Switch[] = [];
	const started = performance.now();
	try {
		await sleep(2000);
		for (let cycle = 1; cycle <= CYCLES; cycle++) {
			const version = versions[cycle - 1] ?? '';
			const promoted = await change(sql, env, [
				'model',
				'promote',
				MODEL,
				version,
				'--reason',
				`lifecycle bench cycle ${cycle}`
			]);
			switches.push({ cycle, kind: 'promote', version, ...promoted });
			await sleep(PAUSE_MS);
			const rolledBack = await change(sql, env, [
				'model',
				'rollback',
				MODEL,
				'--reason',
				`lifecycle bench cycle ${cycle}`
			]);
			switches.push({ cycle, kind: 'rollback', version: BASE_VERSION, ...rolledBack });
			await sleep(PAUSE_MS);
			console.log(`  cycle ${cycle}: ${version} promoted and rolled back`);
		}
	} finally {
		cyclesDone = true;
	}
	const load = await loadRun;
	const seconds = (performance.now() - started) / 1000;

	// Switch time: from the commit to the first answer from each instance naming the new champion,
	// before the next change.
	const perPort = new Map<number, number[]>(PORTS.map((port) => [port, []]));
	const missing: string[] = [];
	switches.forEach((entry, i) => {
		const until = switches[i + 1]?.committedAt ?? Infinity;
		for (const port of PORTS) {
			const first = load.answers.find(
				(a) => a.port === port && a.version === entry.version && a.at >= entry.committedAt && a.at < until
			);
			if (first) perPort.get(port)?.push(first.at - entry.committedAt);
			else missing.push(`${entry.kind} ${entry.cycle} on ${port}`);
		}
	});

	// Stored against acknowledged: every acknowledged id once, with the version its answer named.
	const rows = await sql<{ id: string; model_version: string }[]>`
		select id, model_version from predictions`;
	await sql.end();
	const stored = new Map(rows.map((row) => [row.id, row.model_version]));
	const wrongVersion = load.answers.filter(
		(a) => stored.has(a.predictionId) && stored.get(a.predictionId) !== a.version
	);
	const notStored = load.answers.filter((a) => !stored.has(a.predictionId));
	const acknowledged = new Set(load.answers.map((a) => a.predictionId));
	const byVersion = new Map<string, number>();
	for (const a of load.answers) byVersion.set(a.version, (byVersion.get(a.version) ?? 0) + 1);

	const failed = [...load.failures.values()].reduce((sum, n) => sum + n, 0);
	console.log(
		`\nLoad: ${CONNECTIONS} connections over ${PORTS.length} instances for ${seconds.toFixed(1)} s`
	);
	console.log(
		`  requests sent ${load.sent}, answered 200 ${load.answers.length}, failed ${failed} (target 0)`
	);
	for (const [what, n] of load.failures) console.log(`    ${what}: ${n}`);
	console.log(`\nSwitch time (commit → first answer naming the new champion), ${switches.length} changes`);
	for (const [port, times] of perPort) {
		const index = PORTS.indexOf(port) + 1;
		console.log(
			`  instance-${index} (:${port}): max ${Math.max(...times).toFixed(1)} ms, median ${median(times).toFixed(1)} ms over ${times.length} changes`
		);
	}
	if (missing.length > 0)
		console.log(`  no answer with the new champion before the next change: ${missing.join(', ')}`);
	console.log('\nDecisions');
	console.log(
		`  acknowledged ${load.answers.length} (distinct ids ${acknowledged.size}), stored ${stored.size}`
	);
	console.log(
		`  acknowledged but not stored ${notStored.length}, stored with another version than answered ${wrongVersion.length}`
	);
	console.log(
		`  ${acknowledged.size === stored.size && notStored.length === 0 && wrongVersion.length === 0 ? 'OK' : 'MISMATCH'}: stored decisions ${acknowledged.size === stored.size && notStored.length === 0 ? 'equal' : 'differ from'} the acknowledged ones, ${wrongVersion.length === 0 ? 'each with the version its answer named' : 'some with another version'}`
	);
	console.log(`  answers by version: ${[...byVersion].map(([version, n]) => `${version} ${n}`).join(', ')}`);
}

main()
	.then(async () => {
		await cleanup();
	})
	.catch(async (error: unknown) => {
		console.error(error);
		await cleanup();
		process.exitCode = 1;
	});
