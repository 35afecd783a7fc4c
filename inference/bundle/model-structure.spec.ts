import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { MissingCover, UnsupportedModel } from '../errors';
import type { Manifest } from '../manifest';
import type { RefNode } from '../test-fixtures/brute-force-shapley';
import { loadTinyTrees } from '../test-fixtures/fixtures';
import { linearOnnx, TINY_LINEAR, TINY_TREES, treeEnsembleOnnx } from '../test-fixtures/tiny-models';
import { readModelStructure } from './model-structure';
import { ensembleMargin, LEAF, type TreeEnsemble } from './onnx-trees';

let manifest: Manifest;
beforeAll(async () => {
	manifest = (await loadTinyTrees()).manifest;
});

function trees(bytes: Uint8Array, m: Manifest = manifest): TreeEnsemble {
	const s = readModelStructure(bytes, m);
	if (s.kind !== 'tree_ensemble') throw new Error('expected trees');
	return s.trees;
}

const withCover = (n: RefNode, cover: (n: RefNode) => number): RefNode =>
	'leaf' in n
		? { ...n, cover: cover(n) }
		: { ...n, cover: cover(n), yes: withCover(n.yes, cover), no: withCover(n.no, cover) };

describe('readModelStructure', () => {
	it('should read the trees, renumbered in pre-order with leaf values and covers', () => {
		const e = trees(treeEnsembleOnnx(TINY_TREES));
		expect(e.nTrees).toBe(2);
		expect(e.nNodes).toBe(22);
		expect(e.base).toBe(-1.25);
		expect([...e.roots]).toEqual([0, 13, 22]);
		for (let n = 0; n < e.nNodes; n++) {
			if (e.mode[n] === LEAF) continue;
			expect(e.trueChild[n]).toBeGreaterThan(n);
			expect(e.falseChild[n]).toBeGreaterThan(n);
		}
		expect(e.cover[0]).toBe(100);
		expect([...e.value].filter((v) => v !== 0)).toHaveLength(12);
	});

	it('should fail loudly when the trees carry no cover', () => {
		expect(() => trees(treeEnsembleOnnx(TINY_TREES, { cover: false }))).toThrow(MissingCover);
		expect(() => trees(treeEnsembleOnnx(TINY_TREES, { cover: false }))).toThrow(/nodes_hitrates/);
	});

	it('should fail loudly when nodes_hitrates holds something other than a cover', () => {
		const ones = { ...TINY_TREES, trees: TINY_TREES.trees.map((t) => withCover(t, () => 1)) };
		expect(() => trees(treeEnsembleOnnx(ones))).toThrow(MissingCover);
	});

	it('should read linear coefficients and intercept', () => {
		const m = structuredClone(manifest);
		m.model.kind = 'linear';
		const s = readModelStructure(linearOnnx(TINY_LINEAR.coef, TINY_LINEAR.intercept), m);
		expect(s.kind === 'linear' && [...s.coef]).toEqual(TINY_LINEAR.coef);
		expect(s.kind === 'linear' && s.intercept).toBe(TINY_LINEAR.intercept);
	});

	it('should refuse a graph that does not match the manifest', () => {
		const m = structuredClone(manifest);
		m.input.name = 'features';
		expect(() => trees(treeEnsembleOnnx(TINY_TREES), m)).toThrow(UnsupportedModel);
		const linear = structuredClone(manifest);
		linear.model.kind = 'linear';
		expect(() => readModelStructure(treeEnsembleOnnx(TINY_TREES), linear)).toThrow(/MatMul/);
		expect(() => readModelStructure(new Uint8Array([1, 2, 3]), manifest)).toThrow(UnsupportedModel);
	});
});

describe('tree traversal', () => {
	const modes = ['BRANCH_LT', 'BRANCH_LEQ', 'BRANCH_GT', 'BRANCH_GTE', 'BRANCH_EQ', 'BRANCH_NEQ'];
	// Values on both sides of every threshold, on them, and missing.
	const values = [
		[NaN, 0, 49999, 50000, 50001, 120000, 200000],
		[NaN, 0, 0.5, 1],
		[NaN, 0, 0.5, 1],
		[NaN, 0, 1],
		[NaN, 0, 0.5, 1, 1.5, 2],
		[NaN, 18, 25, 30, 40, 41]
	];

	it.each(modes)('should follow the same branches as onnxruntime with %s', async (mode) => {
		const bytes = treeEnsembleOnnx(TINY_TREES, { mode });
		const e = trees(bytes);
		const n = 400;
		const x = new Float32Array(n * 6);
		let seed = 7;
		const rand = (k: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % k;
		for (let i = 0; i < x.length; i++) {
			const choices = values[i % 6] ?? [0];
			x[i] = choices[rand(choices.length)] ?? 0;
		}
		const session = await ort.InferenceSession.create(bytes);
		const out = await session.run({ input: new ort.Tensor('float32', x, [n, 6]) });
		const margin = out.margin?.data as Float32Array;
		for (let r = 0; r < n; r++) expect(ensembleMargin(e, x, r * 6)).toBe(margin[r]);
		await session.release();
	});
});
