/**
 * The typed messages between the pool (main thread) and its workers: start-up options and the
 * control requests (load / unload), which a worker handles in arrival order. Batches do not travel
 * as messages: they go through each worker's shared-memory ring (`channel.ts`), in order — rows
 * as float32 `[nRows × columns]`, results as one float64 array packing probabilities, margins and
 * SHAP values.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Manifest } from '../manifest';

/**
 * Test-only models (see `runtime/test-models.ts`), accepted only by a pool started with
 * `testModels: true`.
 */
export interface TestModelSpec {
	/**
	 * `echo`: margin = Σ row values (SHAP = the values); `error`: predict throws; `slow`: echo after
	 * `delayMs`; `crash`: the worker exits; `hang`: the worker's thread spins forever.
	 */
	behaviour: 'echo' | 'error' | 'slow' | 'crash' | 'hang';
	delayMs?: number;
	/**
	 * A counter on a SharedArrayBuffer shared by every worker: while it is above 0, a predict
	 * decrements it and misbehaves; once it reaches 0 the model echoes. Lets a test make exactly one
	 * worker fail and check that the retry on another one succeeds. Absent: misbehave every time.
	 */
	faults?: Int32Array;
}

/** Everything a worker needs to load one model version. */
export type LoadSpec =
	| { kind: 'onnx'; key: string; index: number; manifest: Manifest; modelBytes: Uint8Array }
	| { kind: 'test'; key: string; index: number; manifest: Manifest; test: TestModelSpec };

/** Worker start-up options (`workerData`). */
export interface WorkerOptions {
	/** onnxruntime intra-op threads per session. */
	intraOpThreads: number;
	/** Whether `test` load specs are accepted. */
	testModels: boolean;
	/** The worker's task ring (`Channel`) and its number of slots. */
	channel: SharedArrayBuffer;
	slots: number;
	/** Where control messages (`ToWorker`) arrive, announced through the ring's `control` counter. */
	control: MessagePort;
}

export type ToWorker =
	{ type: 'load'; id: number; spec: LoadSpec } | { type: 'unload'; id: number; key: string };

/** An error as it crosses the boundary: name, message and code, never a stack. */
export interface SerializedError {
	name: string;
	message: string;
	code?: string;
}

export type FromWorker =
	| { type: 'ready' }
	| { type: 'loaded'; id: number; baseValue: number }
	| { type: 'unloaded'; id: number }
	| { type: 'failed'; id: number; error: SerializedError };
