/**
 * `npm run bench:batch-ab`: compares two builds (or two settings of one build) on the latency of
 * 1,000-row batches (`--mode batch`, the default) or on the throughput of single scores at 64
 * connections (`--mode single`: each side of a pair is a burst of `--burst` requests, default
 * 3,000, at `--connections`, default 64), in pairs. Both servers run at once, each on its own fresh PostgreSQL
 * database; after warm-up calls the batches alternate A, B, B, A, … one at a time, so that both
 * sides see the same moments of the machine.
 *
 * Why: this 2-vCPU VM's speed drifts by up to ±30 % within minutes (the same build and settings
 * gave batch P50s of 38 and 57 ms two minutes apart), which swamps any change of a few
 * milliseconds measured in separate runs. Paired, a change shows as one side winning most pairs; the sign
 * test's p-value says how likely that many wins would be by chance (an A/A run of 80 pairs gave
 * 44 wins, p = 0.43).
 *
 * Options: `--a DIR`, `--b DIR` (built checkouts: `server.js`, `build/`, `dist/`, `models/`;
 * default both `.`), `--a-env "K=V …"`, `--b-env "K=V …"` (extra environment, e.g.
 * `WRITER_MAX_IN_FLIGHT=2`), `--a-node-args`, `--b-node-args`, `--a-sql`, `--b-sql` (run on that
 * side's database once it is migrated, e.g. to measure what an index costs), `--pairs` (default
 * 80), `--warmup` (default 10). The database is BENCH_DATABASE_URL's server (default the local one).
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import {
	batchCall,
	batchRows,
	benchEnv,
	createServiceAccount,
	fetchToken,
	freshDatabase,
	goldenApplicants,
	startServer,
	stopServer
} from './bench-server';
import { fixedLoad, quantileOf } from './bench-load';

const { values: args } = parseArgs({
	options: {
		a: { type: 'string', default: '.' },
		b: { type: 'string', default: '.' },
		'a-env': { type: 'string', default: '' },
		'b-env': { type: 'string', default: '' },
		'a-node-args': { type: 'string', default: '' },
		'b-node-args': { type: 'string', default: '' },
		'a-sql': { type: 'string', default: '' },
		'b-sql': { type: 'string', default: '' },
		pairs: { type: 'string', default: '80' },
		warmup: { type: 'string', default: '10' },
		mode: { type: 'string', default: 'batch' },
		burst: { type: 'string', default: '3000' },
		connections: { type: 'string', default: '64' }
	}
});

interface Side {
	name: 'A' | 'B';
	dir: string;
	env: Record<string, string>;
	nodeArgs: string[];
	sql: string;
	port: number;
	base: string;
	token: string;
	/** Per pair: the batch's latency (ms) or the burst's throughput (req/s). */
	latencies: number[];
	/** Single mode: each burst's P99, ms. */
	p99s: number[];
}

function parseEnv(text: string): Record<string, string> {
	const env: Record<string, string> = {};
	for (const pair of text.split(/\s+/).filter((p) => p !== '')) {
		const at = pair.indexOf('=');
		if (at < 1) throw new Error(`expected K=V, got ${pair}`);
		env[pair.slice(0, at)] = pair.slice(at + 1);
	}
	return env;
}

/** Two-sided sign test: the chance of a split at least this uneven if both sides were alike. */
function signTestP(wins: number, n: number): number {
	const k = Math.min(wins, n - wins);
	let p = 0;
	let term = 0.5 ** n; // C(n, 0) / 2^n
	for (let i = 0; i <= k; i++) {
		p += term;
		term = (term * (n - i)) / (i + 1);
	}
	return Math.min(1, 2 * p);
}

function quantile(values: readonly number[], q: number): number {
	const sorted = [...values].sort((x, y) => x - y);
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
	const pairs = Number(args.pairs);
	const warmup = Number(args.warmup);
	// The sign test's exact sum underflows beyond ~1,000 pairs; more would not be needed anyway.
	if (!Number.isInteger(pairs) || pairs < 1 || pairs > 1000) throw new Error('--pairs: 1 to 1,000');
	if (!Number.isInteger(warmup) || warmup < 0) throw new Error('--warmup: a whole number');
	const mode = args.mode;
	if (mode !== 'batch' && mode !== 'single') throw new Error('--mode: batch or single');
	const burst = Number(args.burst);
	const connections = Number(args.connections);
	if (!Number.isInteger(burst) || burst < 100) throw new Error('--burst: at least 100 requests');
	if (!Number.isInteger(connections) || connections < 1) throw new Error('--connections: at least 1');
	const single = JSON.stringify({ applicant: goldenApplicants()[0] });
	/** One measurement of `side`: a batch's latency, or a burst's throughput and P99. */
	const measure = async (side: Side): Promise<void> => {
		if (mode === 'batch') {
			side.latencies.push(await batchCall(side.base, side.token, body));
			return;
		}
		const load = await fixedLoad({
			url: `${side.base}/api/v1/models/lending-club/score`,
			connections,
			amount: burst,
			body: single,
			token: side.token
		});
		if (load.ok !== load.requests)
			throw new Error(`side ${side.name}: ${load.requests - load.ok} requests failed`);
		side.latencies.push(load.rps);
		side.p99s.push(quantileOf(load.latencies, 0.99));
	};
	const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
	const body = JSON.stringify({ applicants: batchRows(goldenApplicants()) });
	const sides: Side[] = (['A', 'B'] as const).map((name, i) => ({
		name,
		dir: path.resolve(name === 'A' ? args.a : args.b),
		env: parseEnv(name === 'A' ? args['a-env'] : args['b-env']),
		nodeArgs: (name === 'A' ? args['a-node-args'] : args['b-node-args']).split(' ').filter((a) => a !== ''),
		sql: name === 'A' ? args['a-sql'] : args['b-sql'],
		port: 3497 + i,
		base: `http://127.0.0.1:${3497 + i}`,
		token: '',
		latencies: [],
		p99s: []
	}));
	const databases: { drop: () => Promise<void> }[] = [];
	const servers: ChildProcess[] = [];
	try {
		for (const side of sides) {
			const database = await freshDatabase(adminUrl, side.name.toLowerCase());
			databases.push(database);
			const env = {
				...benchEnv(side.port),
				OTEL_SDK_DISABLED: 'true',
				...side.env,
				DATABASE_URL: database.url
			};
			const secret = createServiceAccount(env);
			if (side.sql !== '') {
				const db = postgres(database.url, { max: 1, onnotice: () => {} });
				await db.unsafe(side.sql);
				await db.end();
			}
			servers.push(await startServer(env, { nodeArgs: side.nodeArgs, cwd: side.dir }));
			side.token = await fetchToken(side.base, secret.clientId, secret.clientSecret);
		}
		for (let i = 0; i < warmup; i++) for (const side of sides) await measure(side);
		for (const side of sides) {
			side.latencies = [];
			side.p99s = [];
		}
		for (let i = 0; i < pairs; i++) {
			for (const side of i % 2 === 0 ? sides : [...sides].reverse()) await measure(side);
		}
	} finally {
		await Promise.all(servers.map(stopServer));
		for (const database of databases) await database.drop();
	}
	const [a, b] = sides as [Side, Side];
	if (mode === 'batch') {
		console.log(`\n1,000-row batches, ${pairs} pairs after ${warmup} warm-up calls each (ms)\n`);
		console.log('| side | build | extra settings | P25 | P50 | P75 | min |');
	} else {
		console.log(
			`\nSingle scores (REST), bursts of ${burst} requests at ${connections} connections, ${pairs} pairs after ${warmup} warm-up bursts each (req/s per burst; P99 ms: median over the bursts)\n`
		);
		console.log('| side | build | extra settings | P25 | P50 | P75 | max | P99 |');
	}
	console.log(
		mode === 'batch' ? '|---|---|---|---:|---:|---:|---:|' : '|---|---|---|---:|---:|---:|---:|---:|'
	);
	for (const side of sides) {
		const settings = [
			...Object.entries(side.env).map(([k, v]) => `${k}=${v}`),
			...side.nodeArgs,
			...(side.sql === '' ? [] : [`SQL: ${side.sql}`])
		].join(' ');
		const figures =
			mode === 'batch'
				? [0.25, 0.5, 0.75, 0].map((q) => quantile(side.latencies, q).toFixed(1))
				: [
						...[0.25, 0.5, 0.75, 1].map((q) => Math.round(quantile(side.latencies, q)).toString()),
						quantile(side.p99s, 0.5).toFixed(1)
					];
		console.log(`| ${side.name} | ${side.dir} | ${settings || '—'} | ${figures.join(' | ')} |`);
	}
	// A wins a pair with the lower batch latency, or with the higher burst throughput.
	let aWins = 0;
	a.latencies.forEach((value, i) => {
		const other = b.latencies[i] ?? NaN;
		aWins += (mode === 'batch' ? value < other : value > other) ? 1 : 0;
	});
	console.log(
		`\nA was faster in ${aWins} of ${pairs} pairs (sign test, two-sided: p = ${signTestP(aWins, pairs).toPrecision(2)}).`
	);
}

await main();
