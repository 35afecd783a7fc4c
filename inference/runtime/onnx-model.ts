/**
 * A bundle served by onnxruntime-node, with its exact explainer. One instance per worker and
 * version; it runs on the worker's thread only (the session is created with one intra-op thread by
 * default: with one worker per core, more threads only contend — see docs/performance.md).
 */
import { readModelStructure } from '../bundle/model-structure';
import { createExplainer, type Explainer } from '../explain/explainer';
import type { Manifest } from '../manifest';
import { countExplained, type InferenceModel, type PredictInput } from './model';
import { OrtSession, type Outputs } from './ort-session';

/** A bundle's ONNX model with its explainer: `load / predict / unload` inside a worker. */
export class OnnxModel implements InferenceModel {
	private session: OrtSession | null = null;
	private explainer: Explainer | null = null;
	private readonly nCols: number;
	private readonly nFeatures: number;

	constructor(
		private readonly manifest: Manifest,
		private readonly bytes: Uint8Array,
		private readonly intraOpThreads: number
	) {
		this.nCols = manifest.input.columns.length;
		this.nFeatures = manifest.features.length;
	}

	get baseValue(): number {
		return this.explainer?.baseValue ?? NaN;
	}

	async load(): Promise<void> {
		// Parse first: a model without cover must fail before it can serve a single row.
		this.explainer = createExplainer(readModelStructure(this.bytes, this.manifest), this.manifest);
		const { input, output } = this.manifest;
		this.session = await OrtSession.create(this.bytes, input.name, [output.probability, output.margin], {
			intraOpNumThreads: this.intraOpThreads,
			interOpNumThreads: 1,
			executionMode: 'sequential',
			graphOptimizationLevel: 'all'
		});
	}

	/** Synchronous when the session is (the worker's fast path), a promise otherwise. */
	predict(input: PredictInput): Float64Array | Promise<Float64Array> {
		const { session } = this;
		if (session === null) throw new Error('model is not loaded');
		const { rows, nRows } = input;
		const x = rows.length === nRows * this.nCols ? rows : rows.subarray(0, nRows * this.nCols);
		const out = session.run(x, nRows, this.nCols);
		return out instanceof Promise
			? out.then((o) => this.assemble(input, x, o))
			: this.assemble(input, x, out);
	}

	async unload(): Promise<void> {
		const s = this.session;
		this.session = null;
		this.explainer = null;
		await s?.release();
	}

	/** Probabilities, margins, then the SHAP values of each explained row (see `InferenceModel`). */
	private assemble(input: PredictInput, x: Float32Array, out: Outputs): Float64Array {
		const { explainer, nCols, nFeatures } = this;
		if (explainer === null) throw new Error('model is not loaded');
		const { nRows, explain } = input;
		const { output } = this.manifest;
		const p = out[output.probability];
		const m = out[output.margin];
		if (p === undefined || m === undefined) throw new Error('model outputs are missing');
		const data = new Float64Array(2 * nRows + countExplained(input) * nFeatures);
		for (let r = 0; r < nRows; r++) {
			data[r] = p[r] ?? NaN;
			data[nRows + r] = m[r] ?? NaN;
		}
		if (explain !== null) {
			let at = 2 * nRows;
			for (let r = 0; r < nRows; r++) {
				if (explain[r] !== 1) continue;
				explainer.explain(x, r * nCols, data, at);
				at += nFeatures;
			}
		}
		return data;
	}
}
