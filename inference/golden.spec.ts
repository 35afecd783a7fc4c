/**
 * The golden test: every bundle under `models/` (and the tiny fixtures) is loaded with
 * onnxruntime-node, its golden raw rows are encoded with the manifest-driven encoder, and the
 * probabilities, SHAP values and additivity must match what the training library computed. This
 * is what proves that training and serving encode and explain identically.
 */
import ort from 'onnxruntime-node';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncoder } from './bundle/encoder';
import { discoverBundles, readGolden, type LoadedBundle } from './bundle/load-bundle';
import { readModelStructure } from './bundle/model-structure';
import { createExplainer } from './explain/explainer';
import type { GoldenRow } from './manifest';
import { InferencePool } from './pool/pool';
import { FIXTURE_BUNDLES, REPO_ROOT, WORKER_PATH } from './test-fixtures/fixtures';

/** Tolerances of the contract (probability: float32 rounding aside). */
const PROBABILITY_TOLERANCE = 1e-6;
const SHAP_TOLERANCE = 1e-5;

const shipped = await discoverBundles(path.join(REPO_ROOT, 'models'));
const fixtures = await discoverBundles(FIXTURE_BUNDLES);
const bundles = [...shipped, ...fixtures];

interface Inline {
	golden: GoldenRow[];
	probability: Float32Array;
	margin: Float32Array;
	shap: Float64Array;
	baseValue: number;
}
const inline = new Map<string, Inline>();
const achieved: Record<string, Record<string, number>> = {};

/** Scores a bundle's golden rows in this thread, as the reference for the pool's answers. */
async function scoreInline(b: LoadedBundle): Promise<Inline> {
	const golden = await readGolden(b);
	const enc = createEncoder(b.manifest);
	const x = enc.encodeMany(golden.map((g) => g.raw));
	// The pool's session options: with more than one intra-op thread, onnxruntime sums the trees in
	// another order, and a margin can differ in its last float32 bit from the pool's.
	const session = await ort.InferenceSession.create(b.modelBytes, {
		intraOpNumThreads: 1,
		interOpNumThreads: 1,
		executionMode: 'sequential',
		graphOptimizationLevel: 'all'
	});
	const { input, output } = b.manifest;
	const out = await session.run({ [input.name]: new ort.Tensor('float32', x, [golden.length, enc.columns]) });
	await session.release();
	const explainer = createExplainer(readModelStructure(b.modelBytes, b.manifest), b.manifest);
	const nF = b.manifest.features.length;
	const shap = new Float64Array(golden.length * nF);
	golden.forEach((_, r) => explainer.explain(x, r * enc.columns, shap, r * nF));
	return {
		golden,
		probability: out[output.probability]?.data as Float32Array,
		margin: out[output.margin]?.data as Float32Array,
		shap,
		baseValue: explainer.baseValue
	};
}

const maxAbs = (values: Iterable<number>): number => Math.max(0, ...[...values].map(Math.abs));

describe.each(bundles.map((b) => [b.key, b] as const))('golden rows of %s', (key, b) => {
	let r: Inline;
	beforeAll(async () => {
		r = await scoreInline(b);
		inline.set(key, r);
	});

	it(`should reproduce the golden probabilities within ${PROBABILITY_TOLERANCE}`, () => {
		const err = maxAbs(r.golden.map((g, i) => (r.probability[i] ?? NaN) - g.probability));
		(achieved[key] ??= {}).probability = err;
		expect(err).toBeLessThanOrEqual(PROBABILITY_TOLERANCE);
	});

	it(`should reproduce the golden SHAP values and base value within ${SHAP_TOLERANCE}`, () => {
		const names = b.manifest.features.map((f) => f.name);
		const err = maxAbs(
			r.golden.flatMap((g, i) =>
				names.map((n, j) => (r.shap[i * names.length + j] ?? NaN) - (g.shap[n] ?? NaN))
			)
		);
		(achieved[key] ??= {}).shap = err;
		expect(err).toBeLessThanOrEqual(SHAP_TOLERANCE);
		expect(Math.abs(r.baseValue - b.manifest.explanation.baseValue)).toBeLessThanOrEqual(SHAP_TOLERANCE);
		for (const g of r.golden) expect(Math.abs(r.baseValue - g.baseValue)).toBeLessThanOrEqual(SHAP_TOLERANCE);
	});

	it(`should add up: base value + Σ SHAP = model margin within ${SHAP_TOLERANCE} on every row`, () => {
		const nF = b.manifest.features.length;
		const sums = r.golden.map((_, i) =>
			r.shap.subarray(i * nF, (i + 1) * nF).reduce((s, v) => s + v, r.baseValue)
		);
		const errOrt = maxAbs(sums.map((s, i) => s - (r.margin[i] ?? NaN)));
		const errGolden = maxAbs(sums.map((s, i) => s - (r.golden[i]?.margin ?? NaN)));
		Object.assign((achieved[key] ??= {}), { additivityVsOnnxruntime: errOrt, additivityVsGolden: errGolden });
		expect(errOrt).toBeLessThanOrEqual(SHAP_TOLERANCE);
		expect(errGolden).toBeLessThanOrEqual(SHAP_TOLERANCE);
	});
});

describe('golden rows through the worker pool', () => {
	let pool: InferencePool;
	beforeAll(async () => {
		pool = await InferencePool.start({ bundles, size: 2, workerPath: WORKER_PATH });
	});
	afterAll(async () => {
		await pool.close();
		console.log('golden tolerances achieved (max abs error):', JSON.stringify(achieved, null, 1));
	});

	it.each(bundles.map((b) => [b.key] as const))('should answer %s exactly as the inline run', async (key) => {
		const ref = inline.get(key) ?? (await scoreInline(bundles.find((b) => b.key === key) as LoadedBundle));
		const scores = await pool.score(
			key,
			ref.golden.map((g) => g.raw),
			{ explain: true }
		);
		const features = Object.keys(ref.golden[0]?.shap ?? {});
		scores.forEach((s, i) => {
			expect(s.version).toBe(key.split('@')[1]);
			expect(s.probability).toBe(ref.probability[i]);
			expect(s.margin).toBe(ref.margin[i]);
			expect(s.baseValue).toBe(ref.baseValue);
			const nF = features.length;
			features.forEach((f, j) => expect(s.shap?.[f]).toBe(ref.shap[i * nF + j]));
		});
	});
});
