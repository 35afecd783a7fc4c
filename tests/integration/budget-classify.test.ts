/**
 * `npm run bench:budget` puts every profile sample down to a stage of a scoring request. These
 * tests build small CPU profiles whose frames point into a bundle with the bundlers' `// src/…`
 * module markers, and check where samples land and which time window they count for.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { classifierFor } from '../../scripts/budget/classify';
import { readProfile, samplesBetween, type CallFrame } from '../../scripts/budget/profile';

const root = mkdtempSync(path.join(tmpdir(), 'credible-budget-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A built chunk: lines 0–2 come from bearer.ts, 3–5 from rest.ts, 6– from prediction-writer.ts.
const chunk = path.join(root, 'build/server/chunks/api.js');
const chunkLines = [
	'// src/lib/server/auth/bearer.ts',
	'async function authenticateBearer() {}',
	'',
	'// src/lib/server/http/rest.ts',
	'function parseBody() {}',
	'function json$1() {}',
	'// src/lib/server/services/prediction-writer.ts',
	'function enqueue() {}'
];
const workerBundle = path.join(root, 'dist/inference-worker.mjs');
const workerLines = [
	'// inference/pool/channel.ts',
	'function waitSubmittedBlocking() {}',
	'// inference/explain/tree-shap.ts',
	'function explain() {}',
	'// inference/runtime/onnx-model.ts',
	'function run() {}'
];

for (const [file, lines] of [
	[chunk, chunkLines],
	[workerBundle, workerLines]
] as const) {
	mkdirSync(path.dirname(file), { recursive: true });
	writeFileSync(file, lines.join('\n'));
}

const at = (file: string, line: number, functionName: string): CallFrame => ({
	functionName,
	url: pathToFileURL(file).href,
	lineNumber: line,
	columnNumber: 0
});
const builtin = (functionName: string): CallFrame => ({
	functionName,
	url: '',
	lineNumber: -1,
	columnNumber: -1
});
const nodeFrame = (functionName: string, url: string): CallFrame => ({
	functionName,
	url,
	lineNumber: 1,
	columnNumber: 0
});

/**
 * A profile from stacks (outermost frame first); sample i is taken at `startTime + 100·(i+1)` µs
 * and stands for 100 µs, followed by one idle sample.
 */
function profileOf(stacks: CallFrame[][]): string {
	const nodes: { id: number; callFrame: CallFrame; children: number[] }[] = [
		{ id: 1, callFrame: builtin('(root)'), children: [] }
	];
	const samples: number[] = [];
	for (const stack of stacks) {
		let parent = nodes[0];
		for (const frame of stack) {
			const existing = parent?.children
				.map((id) => nodes.find((n) => n.id === id))
				.find((n) => n && JSON.stringify(n.callFrame) === JSON.stringify(frame));
			if (existing) {
				parent = existing;
				continue;
			}
			const node = { id: nodes.length + 1, callFrame: frame, children: [] };
			nodes.push(node);
			parent?.children.push(node.id);
			parent = node;
		}
		samples.push(parent?.id ?? 1);
	}
	// A last idle sample: a sample stands for the time to the next one, so the last counts for nothing.
	const idle = { id: nodes.length + 1, callFrame: builtin('(idle)'), children: [] };
	nodes.push(idle);
	nodes[0]?.children.push(idle.id);
	samples.push(idle.id);
	const file = path.join(root, `profile-${Math.random().toString(36).slice(2)}.cpuprofile`);
	writeFileSync(
		file,
		JSON.stringify({
			nodes,
			startTime: 1_000,
			endTime: 1_000 + 100 * (samples.length + 1),
			samples,
			timeDeltas: samples.map(() => 100)
		})
	);
	return file;
}

describe('the cost budget classifier', () => {
	const classifier = classifierFor(root);
	const stagesOf = (stacks: CallFrame[][], thread: 'main' | 'worker') => {
		const profile = readProfile(profileOf(stacks));
		return [...samplesBetween(profile, 0, Number.MAX_SAFE_INTEGER)].map(({ node }) =>
			classifier.stage(profile, node, thread)
		);
	};

	it('names the module of a frame in a bundle by the marker above its line', () => {
		expect(
			stagesOf(
				[[at(chunk, 1, 'authenticateBearer')], [at(chunk, 4, 'serveRest')], [at(chunk, 7, 'enqueue')]],
				'main'
			)
		).toEqual([
			'authentication (JWT verify, revocation cache)',
			'HTTP: body read, routing, answer',
			'writer hand-off and group commit (COPY encoding, database client)'
		]);
	});

	it('puts Node internals and builtins down to the innermost code of ours that called them', () => {
		const writerSocket = [at(chunk, 7, 'enqueue'), nodeFrame('writev', 'node:net'), builtin('writev')];
		const bodyParse = [at(chunk, 4, 'parseBody'), builtin('parse')];
		const parser = [nodeFrame('parserOnHeadersComplete', 'node:_http_common')];
		const timers = [nodeFrame('processTimers', 'node:internal/timers')];
		const answer = [at(chunk, 5, 'json$1')];
		expect(stagesOf([writerSocket, bodyParse, parser, timers, answer], 'main')).toEqual([
			'writer hand-off and group commit (COPY encoding, database client)',
			'JSON.parse of the request body',
			'Node: HTTP parsing and sockets',
			'Node internals (timers, events, async hooks)',
			'JSON.stringify of the answer'
		]);
	});

	it('names packages by their folder under node_modules, scoped ones with their scope', () => {
		const jose = at(path.join(root, 'node_modules/jose/dist/node/esm/jwt/verify.js'), 3, 'jwtVerify');
		const otel = at(
			path.join(root, 'node_modules/@opentelemetry/instrumentation-http/build/src/http.js'),
			3,
			'incomingRequest'
		);
		expect(stagesOf([[jose], [otel]], 'main')).toEqual([
			'authentication (JWT verify, revocation cache)',
			'tracing and request context (OpenTelemetry)'
		]);
	});

	it('counts a worker blocked on its ring as idle, and its model and SHAP apart', () => {
		expect(
			stagesOf(
				[
					[at(workerBundle, 1, 'waitSubmittedBlocking'), builtin('wait')],
					[at(workerBundle, 3, 'explain')],
					[at(workerBundle, 5, 'run')],
					[builtin('(garbage collector)')]
				],
				'worker'
			)
		).toEqual(['idle', 'TreeSHAP', 'model (onnxruntime)', 'garbage collection']);
	});

	it('labels a sample by its own function and source', () => {
		const profile = readProfile(profileOf([[at(chunk, 4, 'parseBody'), builtin('parse')]]));
		const [sample] = [...samplesBetween(profile, 0, Number.MAX_SAFE_INTEGER)];
		expect(sample && classifier.frameLabel(sample.node)).toBe('parse (V8 builtin)');
		const parent = sample && profile.nodes.get(profile.parentOf.get(sample.node.id) ?? -1);
		expect(parent && classifier.frameLabel(parent)).toBe('parseBody (src/lib/server/http/rest.ts)');
	});
});

describe('the timed window of a profile', () => {
	it('keeps the samples taken inside it, each with the time to the next sample', () => {
		const stacks = Array.from({ length: 10 }, () => [at(chunk, 4, 'parseBody')]);
		const profile = readProfile(profileOf(stacks));
		// Samples at 1,100 … 2,000 µs; the window 1,250–1,650 holds those at 1,300 … 1,600.
		const inside = [...samplesBetween(profile, 1_250, 1_650)];
		expect(inside).toHaveLength(4);
		// The last (idle) sample of the profile has no successor and counts for nothing.
		expect([...samplesBetween(profile, 0, 10_000)].map((s) => s.micros)).toEqual(
			Array.from({ length: 10 }, () => 100)
		);
	});
});
