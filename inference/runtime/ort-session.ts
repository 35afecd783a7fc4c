/**
 * An onnxruntime session that a worker can run synchronously.
 *
 * `InferenceSession.run` of onnxruntime-node defers every call with `setImmediate` and validates its
 * arguments again each time. The native binding under it is synchronous. A worker does nothing
 * else while a batch runs, so going straight to the binding saves a turn of the event loop and about
 * 8 µs per run (docs/performance.md). That binding (`onnxruntime-node/dist/binding.js`) is not a
 * documented API. When it is missing or has another shape (another onnxruntime-node release), the
 * session falls back to the public asynchronous API. Both give the same numbers; `ort-session.spec.ts`
 * checks this.
 */
import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';

export interface SessionOptions {
	intraOpNumThreads: number;
	interOpNumThreads: number;
	executionMode: 'sequential' | 'parallel';
	graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Output name → float32 values. */
export type Outputs = Record<string, Float32Array>;

interface NativeSession {
	loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
	run(
		feeds: Record<string, ort.Tensor>,
		fetches: Record<string, null>,
		options: object
	): Record<string, { data: unknown }>;
	dispose(): void;
	readonly inputNames?: readonly string[];
}

interface NativeBinding {
	binding: { InferenceSession: new () => NativeSession };
	initOrt: () => void;
}

let native: NativeBinding | null | undefined;

/** onnxruntime-node's synchronous binding, or null when this release does not expose it so. */
function nativeBinding(): NativeBinding | null {
	if (native !== undefined) return native;
	try {
		const required = createRequire(import.meta.url)(
			'onnxruntime-node/dist/binding.js'
		) as Partial<NativeBinding>;
		const proto = (required.binding?.InferenceSession as { prototype?: Partial<NativeSession> } | undefined)
			?.prototype;
		const ok =
			typeof required.initOrt === 'function' &&
			typeof proto?.run === 'function' &&
			typeof proto.loadModel === 'function' &&
			typeof proto.dispose === 'function';
		native = ok ? (required as NativeBinding) : null;
	} catch {
		native = null;
	}
	return native;
}

/** One model's session: `run` is synchronous when the native binding is usable (see the file comment). */
export class OrtSession {
	private constructor(
		private readonly inputName: string,
		private readonly fetches: Record<string, null>,
		private readonly outputs: readonly string[],
		private sync: NativeSession | null,
		private async: ort.InferenceSession | null
	) {}

	/** Whether `run` answers synchronously. */
	get synchronous(): boolean {
		return this.sync !== null;
	}

	/**
	 * Loads `bytes` for input `inputName` and the given float32 `outputs`. `preferSync: false` forces
	 * the public API (for the equivalence test).
	 */
	static async create(
		bytes: Uint8Array,
		inputName: string,
		outputs: readonly string[],
		options: SessionOptions,
		preferSync = true
	): Promise<OrtSession> {
		const fetches = Object.fromEntries(outputs.map((o) => [o, null]));
		const binding = preferSync ? nativeBinding() : null;
		if (binding !== null) {
			binding.initOrt();
			const session = new binding.binding.InferenceSession();
			session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, options);
			return new OrtSession(inputName, fetches, outputs, session, null);
		}
		const session = await ort.InferenceSession.create(bytes, options);
		return new OrtSession(inputName, fetches, outputs, null, session);
	}

	/** Runs `rows` (`[nRows × nCols]` float32); synchronous when {@link synchronous}. */
	run(rows: Float32Array, nRows: number, nCols: number): Outputs | Promise<Outputs> {
		const feeds = { [this.inputName]: new ort.Tensor('float32', rows, [nRows, nCols]) };
		if (this.sync !== null) return this.read(this.sync.run(feeds, this.fetches, {}));
		if (this.async === null) throw new Error('onnxruntime session is released');
		return this.async.run(feeds, [...this.outputs]).then((r) => this.read(r));
	}

	/** Frees the native session; `run` throws afterwards (it never reaches freed memory). */
	async release(): Promise<void> {
		const { sync, async } = this;
		this.sync = null;
		this.async = null;
		sync?.dispose();
		await async?.release();
	}

	private read(result: Record<string, { data: unknown } | undefined>): Outputs {
		const out: Outputs = {};
		for (const name of this.outputs) {
			const data = result[name]?.data;
			if (!(data instanceof Float32Array)) throw new Error(`model output ${name} is not float32`);
			out[name] = data;
		}
		return out;
	}
}
