/**
 * Which stage of a scoring request a profile sample belongs to. The innermost frame of the
 * sample's stack that is Credible's code or a package decides; Node's internals and V8's builtins
 * count for the code that called them, and only a stack with none of ours is put down to Node or
 * V8 itself. Built files are mapped back to their sources through the `// src/…` markers the
 * bundlers (SvelteKit's build, esbuild for the worker) write at the start of every module.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackOf, type CallFrame, type Profile, type ProfileNode } from './profile';

export type Stage = string;
export type Thread = 'main' | 'worker';

/** Stages of the main thread, by source path; the first matching rule names the stage. */
const MAIN_RULES: readonly [RegExp, Stage][] = [
	[/^src\/lib\/server\/auth\/|^node_modules\/jose$/, 'authentication (JWT verify, revocation cache)'],
	[/^src\/lib\/server\/limits\/|^node_modules\/(ioredis|rate-limiter-flexible)$/, 'rate limit'],
	[
		/^src\/lib\/server\/observability\/(tracing|request-context)|^node_modules\/@opentelemetry\/(api|core|context-async-hooks|sdk-trace-base|sdk-trace-node|instrumentation|instrumentation-http|semantic-conventions|resources|sdk-node)$/,
		'tracing and request context (OpenTelemetry)'
	],
	[
		/^src\/lib\/server\/observability\/|^node_modules\/@opentelemetry\/|^node_modules\/prom-client$/,
		'metrics'
	],
	[/^src\/lib\/server\/logger|^node_modules\/pino/, 'logging'],
	[/^src\/lib\/server\/services\/scoring\/validation|^src\/lib\/validation\//, 'applicant check'],
	[/^inference\/pool\//, 'inference pool round trip (main-thread side)'],
	[/^inference\/decision\//, 'policy and reasons'],
	[/^inference\//, 'inference library (other, main thread)'],
	[
		/^src\/lib\/server\/services\/prediction-writer|^src\/lib\/server\/db\/|^node_modules\/(pg|pg-protocol|pg-pool|pg-types|pg-copy-streams|postgres|drizzle-orm|@electric-sql\/pglite)$/,
		'writer hand-off and group commit (COPY encoding, database client)'
	],
	[/^src\/lib\/server\/services\//, 'scoring service (assembling the decision)'],
	[/^src\/lib\/server\/trpc\/|^node_modules\/@trpc\//, 'tRPC procedure and its input schema'],
	[/^node_modules\/zod$/, 'zod'],
	[
		/^src\/lib\/server\/http\/|^src\/lib\/server\/security-headers|^server(-drain)?\.js$/,
		'HTTP: body read, routing, answer'
	],
	[/^src\//, 'other Credible code'],
	[/^node_modules\//, 'other packages']
];

const WORKER_RULES: readonly [RegExp, Stage][] = [
	[/^inference\/runtime\/|^node_modules\/onnxruntime-(node|common)$/, 'model (onnxruntime)'],
	[/^inference\/explain\//, 'TreeSHAP'],
	[/^inference\/pool\//, 'worker messaging (shared-memory ring)'],
	[/^inference\//, 'inference library (other)'],
	[/^node_modules\//, 'other packages']
];

/** The worker's loop blocking on its ring until a batch arrives (`inference/pool/channel.ts`). */
const IDLE_WAITS = new Set(['waitSubmittedBlocking']);

const HTTP_STAGE = 'HTTP: body read, routing, answer';

/** Where a frame's code comes from: a source path, `node:…`, or '' for V8's builtins. */
type Origin = { kind: 'source'; path: string } | { kind: 'node'; path: string } | { kind: 'builtin' };

export interface Classifier {
	stage(profile: Profile, node: ProfileNode, thread: Thread): Stage;
	/** The sample's own frame: the function and the source it comes from. */
	frameLabel(node: ProfileNode): string;
}

export function classifierFor(root: string): Classifier {
	const markers = new Map<string, { line: number; source: string }[]>();
	const cache = new WeakMap<Profile, Map<number, Stage>>();

	/** The `// src/…` module markers of a built file, in line order. */
	function markersOf(file: string): { line: number; source: string }[] {
		let found = markers.get(file);
		if (found) return found;
		found = [];
		if (existsSync(file)) {
			const lines = readFileSync(file, 'utf8').split('\n');
			for (let i = 0; i < lines.length; i++) {
				const marker = /^\/\/ ((?:src|inference|otel|node_modules)\/\S+)$/.exec(lines[i] ?? '');
				if (marker?.[1]) found.push({ line: i, source: marker[1] });
			}
		}
		markers.set(file, found);
		return found;
	}

	function packageOf(file: string): string | null {
		const at = file.lastIndexOf('/node_modules/');
		if (at < 0) return null;
		const parts = file.slice(at + '/node_modules/'.length).split('/');
		return `node_modules/${parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
	}

	function originOf(frame: CallFrame): Origin {
		if (frame.url === '') return { kind: 'builtin' };
		if (frame.url.startsWith('node:')) return { kind: 'node', path: frame.url };
		const file = frame.url.startsWith('file:') ? fileURLToPath(frame.url) : frame.url;
		const fromPackage = packageOf(file);
		if (fromPackage) return { kind: 'source', path: fromPackage };
		const relative = path.relative(root, file);
		if (/^(build|dist|\.svelte-kit)\//.test(relative)) {
			// The last marker at or above the frame's line names the module.
			let source: string | null = null;
			for (const marker of markersOf(file)) {
				if (marker.line > frame.lineNumber) break;
				source = marker.source;
			}
			const named = source?.startsWith('node_modules/') ? packageOf(`/${source}`) : source;
			return { kind: 'source', path: named ?? relative };
		}
		return { kind: 'source', path: relative };
	}

	function stageOf(profile: Profile, node: ProfileNode, thread: Thread): Stage {
		const name = node.callFrame.functionName;
		if (name === '(idle)') return 'idle';
		if (name === '(garbage collector)') return 'garbage collection';
		if (name === '(program)' || name === '(root)') return 'V8 and native code (no JavaScript stack)';
		const rules = thread === 'main' ? MAIN_RULES : WORKER_RULES;
		// A worker blocked in Atomics.wait for its next batch is idle, not busy.
		if (thread === 'worker' && name === 'wait') {
			const caller = profile.nodes.get(profile.parentOf.get(node.id) ?? -1);
			if (caller && IDLE_WAITS.has(caller.callFrame.functionName)) return 'idle';
		}
		if (IDLE_WAITS.has(name)) return 'idle';
		let builtinLeaf: string | null = null;
		let nodeInternal: string | null = null;
		for (const frame of stackOf(profile, node)) {
			const origin = originOf(frame.callFrame);
			if (origin.kind === 'builtin') {
				builtinLeaf ??= frame.callFrame.functionName;
				continue;
			}
			if (origin.kind === 'node') {
				nodeInternal ??= origin.path;
				continue;
			}
			const rule = rules.find(([pattern]) => pattern.test(origin.path));
			const stage = rule?.[1] ?? 'other code';
			if (stage === HTTP_STAGE && nodeInternal === null) {
				// V8 runs JSON.parse and JSON.stringify in C++, so their samples usually land on
				// the JavaScript function that called them: the REST layer's body parser and
				// answer builder (`parseBody`, `json` in http/rest.ts).
				const caller = frame.callFrame.functionName;
				if (builtinLeaf === 'parse' || caller === 'parseBody') return 'JSON.parse of the request body';
				if (builtinLeaf === 'stringify' || /^json(\$\d+)?$/.test(caller)) {
					return 'JSON.stringify of the answer';
				}
			}
			return stage;
		}
		if (
			nodeInternal &&
			/^node:(_http|http|net|stream|internal\/(http|streams|stream_base))/.test(nodeInternal)
		) {
			return 'Node: HTTP parsing and sockets';
		}
		return 'Node internals (timers, events, async hooks)';
	}

	return {
		stage(profile, node, thread) {
			let known = cache.get(profile);
			if (!known) cache.set(profile, (known = new Map<number, Stage>()));
			const cached = known.get(node.id);
			if (cached !== undefined) return cached;
			const stage = stageOf(profile, node, thread);
			known.set(node.id, stage);
			return stage;
		},
		frameLabel(node) {
			const name = node.callFrame.functionName || '(anonymous)';
			const origin = originOf(node.callFrame);
			if (origin.kind === 'builtin') return name.startsWith('(') ? name : `${name} (V8 builtin)`;
			return `${name} (${origin.path})`;
		}
	};
}
