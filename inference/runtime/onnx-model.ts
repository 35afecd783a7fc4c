/**
 * A bundle served by onnxruntime-node, with its exact explainer. One instance per worker and
 * version; it runs on the worker's thread only (the session is created with one intra-op thread by
 * default: with one worker per core, more threads only contend — see docs/performance.md).
 */
import ort from 'onnxruntime-node';
import { readModelStructure } from '../bundle/model-structure';
import { createExplainer, type Explainer } from '../explain/explainer';
import type { Manifest } from '../manifest';
import { countExplained, type InferenceModel, type PredictInput } from './model';

/** A bundle's ONNX model with its explainer: `load / predict / unload` inside a worker. */
export class OnnxModel implements InferenceModel {
	private session: ort.InferenceSession | null = null;
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
		this.session = await ort.InferenceSession.create(this.bytes, {
			intraOpNumThreads: this.intraOpThreads,
			interOpNumThreads: 1,
			executionMode: 'sequential',
			graphOptimizationLevel: 'all'
		});
	}

	async predict(input: PredictInput): Promise<Float64Array> {
		const { session, explainer, nCols, nFeatures } = this;
		if (session === null || explainer === null) throw new Error('model is not loaded');
		const { rows, nRows, explain } = input;
		const { output } = this.manifest;
		const x = rows.length === nRows * nCols ? rows : rows.subarray(0, nRows * nCols);
		const tensor = new ort.Tensor('float32', x, [nRows, nCols]);
		const result = await session.run({ [this.manifest.input.name]: tensor }, [
			output.probability,
			output.margin
		]);
		const p = result[output.probability]?.data;
		const m = result[output.margin]?.data;
		if (!(p instanceof Float32Array) || !(m instanceof Float32Array))
			throw new Error('model outputs are not float32');
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

	async unload(): Promise<void> {
		const s = this.session;
		this.session = null;
		this.explainer = null;
		await s?.release();
	}
}
