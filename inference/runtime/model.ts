/**
 * What a worker hosts: a model with `load / predict / unload` (MLServer's `MLModel`). The ONNX
 * bundles implement it in `onnx-model.ts`; the pool's tests add misbehaving ones in
 * `test-models.ts`.
 */

/** A batch of encoded rows. */
export interface PredictInput {
	/** Row-major `[nRows × columns]` (may be longer than needed). */
	rows: Float32Array;
	nRows: number;
	/** 1 for rows to explain; null when none are. */
	explain: Uint8Array | null;
}

export interface InferenceModel {
	/** Expected margin (SHAP base value). Valid after `load`. */
	readonly baseValue: number;
	load(): Promise<void>;
	/**
	 * Scores a batch. Returns one Float64Array: probabilities [nRows], margins [nRows], then the SHAP
	 * values per raw feature of each explained row, in row order. A model that can answer without
	 * waiting returns the array itself: the worker then runs its next batch without a turn of the
	 * event loop.
	 */
	predict(input: PredictInput): Float64Array | Promise<Float64Array>;
	unload(): Promise<void>;
}

/** Number of rows flagged for explanation. */
export function countExplained(input: PredictInput): number {
	const mask = input.explain;
	if (mask === null) return 0;
	let n = 0;
	for (let r = 0; r < input.nRows; r++) n += mask[r] ?? 0;
	return n;
}
