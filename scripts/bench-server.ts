/**
 * What the API benchmarks share: a fresh database, the server's environment, a service account
 * made with the CLI, starting and stopping a built server, and a bearer token.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';

/** The golden applicants of the lending-club model: the benchmarks' request bodies. */
export function goldenApplicants(): Record<string, unknown>[] {
	return readFileSync('models/lending-club/xgb-1.0.0/golden.jsonl', 'utf8')
		.trim()
		.split('\n')
		.map((line) => (JSON.parse(line) as { raw: Record<string, unknown> }).raw);
}

/** The body rows of a 1,000-row batch: the golden applicants in turn. */
export function batchRows(applicants: readonly Record<string, unknown>[]): Record<string, unknown>[] {
	return Array.from({ length: 1000 }, (_, i) => applicants[i % applicants.length] ?? {});
}

/** The server's environment for a benchmark on `port` (no database chosen yet). */
export function benchEnv(port: number): NodeJS.ProcessEnv {
	return {
		...process.env,
		NODE_ENV: 'production',
		PORT: String(port),
		HOST: '127.0.0.1',
		LOG_LEVEL: 'warn',
		JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
		TOTP_ENCRYPTION_KEY: '0'.repeat(64),
		CREDIBLE_ADMIN_PASSWORD: 'bench-admin-password-1',
		// The benchmarks measure the service, not the limiter; the limit itself is tested elsewhere.
		RATE_LIMIT_PER_SECOND: '1000000'
	};
}

/** A new, empty PostgreSQL database next to `adminUrl`'s; `drop` removes it. */
export async function freshDatabase(
	adminUrl: string,
	tag: string
): Promise<{ url: string; drop: () => Promise<void> }> {
	const name = `credible_bench_${tag}_${Date.now()}`;
	const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
	await admin.unsafe(`create database "${name}"`);
	const url = new URL(adminUrl);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		drop: async () => {
			await admin.unsafe(`drop database if exists "${name}" with (force)`);
			await admin.end();
		}
	};
}

/** Creates a `scorer` service account with the CLI (which migrates the database first). */
export function createServiceAccount(env: NodeJS.ProcessEnv): { clientId: string; clientSecret: string } {
	const out = execFileSync(
		'npx',
		['tsx', 'src/cli/credible.ts', 'service-account', 'create', 'bench', '--role', 'scorer'],
		{ env, encoding: 'utf8' }
	);
	const clientId = /client[ _-]?id:?\s+(\S+)/i.exec(out)?.[1];
	const clientSecret = /client[ _-]?secret:?\s+(\S+)/i.exec(out)?.[1];
	if (!clientId || !clientSecret) throw new Error(`could not read the credentials from:\n${out}`);
	return { clientId, clientSecret };
}

/** Starts the built server in `cwd` (default: here) and waits until `/readyz` answers. */
export async function startServer(
	env: NodeJS.ProcessEnv,
	options: { nodeArgs?: readonly string[]; cwd?: string } = {}
): Promise<ChildProcess> {
	const server = spawn(process.execPath, [...(options.nodeArgs ?? []), 'server.js'], {
		env,
		cwd: options.cwd,
		stdio: ['ignore', 'ignore', 'inherit']
	});
	for (let i = 0; i < 120; i++) {
		try {
			const response = await fetch(`http://127.0.0.1:${env.PORT}/readyz`);
			if (response.ok) return server;
		} catch {
			// not listening yet
		}
		await sleep(500);
	}
	server.kill('SIGKILL');
	throw new Error('the server did not become ready');
}

/** Stops a server with SIGTERM (it drains the group-commit writer) and waits for it to exit. */
export async function stopServer(server: ChildProcess): Promise<void> {
	if (server.exitCode !== null) return;
	const exited = new Promise((resolve) => server.once('exit', resolve));
	server.kill('SIGTERM');
	await exited;
}

/** A bearer token for the service account, from the server at `base`. */
export async function fetchToken(base: string, clientId: string, clientSecret: string): Promise<string> {
	const response = await fetch(`${base}/api/v1/oauth/token`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({
			grant_type: 'client_credentials',
			client_id: clientId,
			client_secret: clientSecret
		})
	});
	const body = (await response.json()) as { access_token?: string };
	if (!body.access_token)
		throw new Error(`token exchange failed: ${response.status} ${JSON.stringify(body)}`);
	return body.access_token;
}

/** One 1,000-row batch call; its latency in milliseconds. Throws unless it answers 200. */
export async function batchCall(base: string, token: string, body: string): Promise<number> {
	const started = performance.now();
	const response = await fetch(`${base}/api/v1/models/lending-club/score/batch`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
		body
	});
	await response.arrayBuffer();
	if (!response.ok) throw new Error(`batch failed: ${response.status}`);
	return performance.now() - started;
}

/**
 * A fixed single-thread workload (JSON of a batch's 1,000 rows, there and back, ten times), in ms:
 * the best of five. This VM's speed drifts by up to ±30 % within minutes; printed beside a
 * result, it tells a slow spell of the machine from a slow build.
 */
export function cpuReference(rows: readonly Record<string, unknown>[]): number {
	let best = Infinity;
	for (let round = 0; round < 5; round++) {
		const started = performance.now();
		for (let i = 0; i < 10; i++) JSON.parse(JSON.stringify(rows));
		best = Math.min(best, performance.now() - started);
	}
	return best;
}
