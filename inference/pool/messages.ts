/**
 * The typed messages between the pool (main thread) and its workers. A worker handles messages
 * strictly in arrival order, so replies to `predict` come back in the order the tasks were sent.
 *
 * Rows travel as one Float32Array per batch and results as one Float64Array packing probabilities,
 * margins and SHAP values: one message carries many rows, and one transfer carries all of a
 * batch's results.
 */
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
	| { kind: 'onnx'; key: string; manifest: Manifest; modelBytes: Uint8Array }
	| { kind: 'test'; key: string; manifest: Manifest; test: TestModelSpec };

/** Worker start-up options (`workerData`). */
export interface WorkerOptions {
	/** onnxruntime intra-op threads per session. */
	intraOpThreads: number;
	/** Whether `test` load specs are accepted. */
	testModels: boolean;
}

export type ToWorker =
	| { type: 'load'; id: number; spec: LoadSpec }
	| { type: 'unload'; id: number; key: string }
	| {
			type: 'predict';
			id: number;
			key: string;
			/** Row-major `[nRows × columns]`; may be longer than needed (capacity). */
			rows: Float32Array;
			nRows: number;
			/** 1 for rows whose SHAP values are wanted; null when none are. */
			explain: Uint8Array | null;
	  };

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
	/**
	 * `data` = probabilities [nRows], margins [nRows], then SHAP values [nExplained × features] for
	 * the explained rows in row order.
	 */
	| { type: 'result'; id: number; data: Float64Array }
	| { type: 'failed'; id: number; error: SerializedError };
