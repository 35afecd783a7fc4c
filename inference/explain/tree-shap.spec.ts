import { describe, expect, it } from 'vitest';
import { decodeGraph, singleNode } from '../bundle/onnx-graph';
import { ensembleMargin, parseTreeEnsemble, type TreeEnsemble } from '../bundle/onnx-trees';
import { bruteForceShapley, type RefEnsemble, type RefNode } from '../test-fixtures/brute-force-shapley';
import { TINY_LINEAR, TINY_TREES, treeEnsembleOnnx } from '../test-fixtures/tiny-models';
import { LinearExplainer, TreeExplainer } from './explainer';

/** Deterministic PRNG (mulberry32): the same random trees on every run. */
function prng(seed: number): () => number {
	let a = seed;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** A random tree over `columns` columns: columns repeat on paths, covers are additive. */
function randomTree(rand: () => number, columns: number, depth: number, cover: number): RefNode {
	if (depth === 0 || cover < 2 || rand() < 0.2) return { leaf: Math.fround(rand() * 2 - 1), cover };
	const left = Math.min(cover - 1, Math.max(1, Math.round(cover * (0.1 + 0.8 * rand()))));
	return {
		column: Math.floor(rand() * columns),
		threshold: Math.fround(rand() * 10),
		missingYes: rand() < 0.5,
		cover,
		yes: randomTree(rand, columns, depth - 1, left),
		no: randomTree(rand, columns, depth - 1, cover - left)
	};
}

function parsed(ref: RefEnsemble): TreeEnsemble {
	return parseTreeEnsemble(
		singleNode(decodeGraph(treeEnsembleOnnx(ref)), 'TreeEnsembleRegressor'),
		ref.columns
	);
}

const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

function randomRow(rand: () => number, columns: number): Float32Array {
	return Float32Array.from({ length: columns }, () => (rand() < 0.15 ? NaN : Math.floor(rand() * 11)));
}

describe('TreeSHAP', () => {
	const methods = ['pattern', 'fast', 'classic'] as const;

	it.each(methods)('should equal brute-force Shapley values on the 2-tree fixture (%s)', (method) => {
		const e = parsed(TINY_TREES);
		const explainer = new TreeExplainer(e, identity(6), 6, { method });
		const rand = prng(1);
		const phi = new Float64Array(6);
		for (let r = 0; r < 300; r++) {
			const x = Float32Array.from([
				rand() * 200000,
				rand() < 0.5 ? 1 : 0,
				rand() < 0.5 ? 1 : 0,
				0,
				Math.floor(rand() * 3),
				18 + Math.floor(rand() * 50)
			]);
			if (r % 5 === 0) x[0] = NaN;
			if (r % 7 === 0) x.fill(NaN, 1, 4);
			explainer.explain(x, 0, phi, 0);
			const ref = bruteForceShapley(TINY_TREES, x);
			ref.phi.forEach((v, j) => expect(Math.abs((phi[j] ?? NaN) - v)).toBeLessThan(1e-9));
			expect(Math.abs(explainer.baseValue - ref.base)).toBeLessThan(1e-12);
		}
	});

	it.each(methods)('should equal brute force on random trees with repeated columns (%s)', (method) => {
		const rand = prng(42);
		for (let model = 0; model < 12; model++) {
			const columns = 3 + (model % 5);
			// Pattern lookup takes trees of at most 10 branches (depth ≤ 3); deeper ones fall back.
			const depth = method === 'pattern' ? 1 + (model % 3) : 2 + (model % 5);
			const ref: RefEnsemble = {
				base: rand() - 0.5,
				columns,
				trees: Array.from({ length: 4 }, () => randomTree(rand, columns, depth, 1000))
			};
			const explainer = new TreeExplainer(parsed(ref), identity(columns), columns, { method });
			const phi = new Float64Array(columns);
			for (let r = 0; r < 25; r++) {
				const x = randomRow(rand, columns);
				explainer.explain(x, 0, phi, 0);
				bruteForceShapley(ref, x).phi.forEach((v, j) =>
					expect(Math.abs((phi[j] ?? NaN) - v)).toBeLessThan(1e-9)
				);
			}
		}
	});

	it('should add up to the margin (base value + Σ SHAP = margin) on every row', () => {
		const rand = prng(3);
		const ref: RefEnsemble = {
			base: 0.3,
			columns: 8,
			trees: Array.from({ length: 50 }, () => randomTree(rand, 8, 6, 5000))
		};
		const e = parsed(ref);
		// A budget of 0 forces a mix: no tree fits the tables, all go through the classic recursion.
		for (const options of [{}, { tableBudget: 0 }, { tableBudget: 2000 }, { method: 'fast' as const }]) {
			const explainer = new TreeExplainer(e, identity(8), 8, options);
			const phi = new Float64Array(8);
			for (let r = 0; r < 200; r++) {
				const x = randomRow(rand, 8);
				explainer.explain(x, 0, phi, 0);
				const sum = phi.reduce((s, v) => s + v, explainer.baseValue);
				expect(Math.abs(sum - ensembleMargin(e, x))).toBeLessThan(1e-12);
			}
		}
	});

	it('should sum columns into their raw feature', () => {
		const e = parsed(TINY_TREES);
		const perColumn = new TreeExplainer(e, identity(6), 6);
		const perFeature = new TreeExplainer(e, Int32Array.from([0, 1, 1, 1, 2, 3]), 4);
		const x = Float32Array.from([30000, 0, 1, 0, 1, 45]);
		const cols = new Float64Array(6);
		const feats = new Float64Array(4);
		perColumn.explain(x, 0, cols, 0);
		perFeature.explain(x, 0, feats, 0);
		expect(feats[1]).toBeCloseTo((cols[1] ?? 0) + (cols[2] ?? 0) + (cols[3] ?? 0), 12);
		expect(feats[3]).toBeCloseTo(cols[5] ?? NaN, 12);
	});
});

describe('linear SHAP', () => {
	it('should be coef · (x − mean) per column, summed per feature, and add up to the margin', () => {
		const { coef, intercept, means } = TINY_LINEAR;
		const explainer = new LinearExplainer(
			Float64Array.from(coef),
			intercept,
			Float64Array.from(means),
			Int32Array.from([0, 1, 1, 1, 2, 3]),
			4
		);
		const x = Float32Array.from([60000, 0, 0, 1, 2, 30]);
		const phi = new Float64Array(4);
		explainer.explain(x, 0, phi, 0);
		expect(phi[0]).toBeCloseTo((coef[0] ?? 0) * (60000 - 40000), 12);
		expect(phi[1]).toBeCloseTo(0.375 * -0.25 + -0.25 * -0.5 + 0.125 * 0.75, 12);
		const margin = coef.reduce((s, c, j) => s + c * (x[j] ?? 0), intercept);
		expect(phi.reduce((s, v) => s + v, explainer.baseValue)).toBeCloseTo(margin, 12);
	});
});
