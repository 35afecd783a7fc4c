/**
 * Exact SHAP values in log-odds (margin) space, per tensor column and summed per raw feature:
 * path-dependent TreeSHAP for tree ensembles, `coef_j · (x_j − mean_j)` for linear models.
 * In both, `baseValue + Σ values = margin` for every row.
 */
import { featureColumns } from '../bundle/manifest-checks';
import type { ModelStructure } from '../bundle/model-structure';
import { ensembleExpectedValue, type TreeEnsemble } from '../bundle/onnx-trees';
import type { Manifest } from '../manifest';
import { FastTreeShap } from './fast-tree-shap';
import { PatternTreeShap } from './pattern-tree-shap';
import { ClassicTreeShap } from './tree-shap';

/** Computes one row's SHAP values. Instances keep scratch state: one row at a time per instance. */
export interface Explainer {
	/** Expected margin: what the values of a row add to, to give that row's margin. */
	readonly baseValue: number;
	/** Length of a row's SHAP vector. */
	readonly nOutputs: number;
	/** Overwrites `out[outOffset … outOffset + nOutputs)` with the SHAP values of `x[offset…]`. */
	explain(x: Float32Array, offset: number, out: Float64Array, outOffset: number): void;
}

export interface TreeExplainerOptions {
	/**
	 * Table entries (8 bytes each) the lookup methods may use, per method; trees beyond it fall
	 * back to the next method. Default 2^22 (32 MB) each: 300 trees of depth 6 fit the leaf tables.
	 */
	tableBudget?: number;
	/**
	 * `auto` (default): per tree, pattern lookup if it has ≤ 10 branches, else leaf tables, else the
	 * classic recursion, as budgets allow. The others force one method (tests compare them).
	 */
	method?: 'auto' | 'pattern' | 'fast' | 'classic';
}

const PATTERN = 2;
const FAST = 1;
const CLASSIC = 0;

/**
 * Path-dependent TreeSHAP over an ensemble; `out` maps input column → output slot. All three
 * methods are exact (they agree to rounding); they differ in speed and load-time memory.
 */
export class TreeExplainer implements Explainer {
	readonly baseValue: number;
	private readonly pattern: PatternTreeShap;
	private readonly fast: FastTreeShap;
	private readonly classic: ClassicTreeShap;
	/** Per tree: the method that explains it. */
	private readonly method: Uint8Array;
	/** Every tree is tabulated: one flat pass does it all. */
	private readonly allPattern: boolean;

	constructor(
		private readonly trees: TreeEnsemble,
		out: Int32Array,
		readonly nOutputs: number,
		options: TreeExplainerOptions = {}
	) {
		this.baseValue = ensembleExpectedValue(trees);
		const budget = options.tableBudget ?? 1 << 22;
		const forced = options.method ?? 'auto';
		this.method = new Uint8Array(trees.nTrees);
		const byPattern: number[] = [];
		const byTable: number[] = [];
		let patternUsed = 0;
		let tableUsed = 0;
		for (let t = 0; t < trees.nTrees; t++) {
			const p =
				forced === 'auto' || forced === 'pattern' ? PatternTreeShap.tableSize(trees, t, out) : Infinity;
			if (p !== Infinity && (forced === 'pattern' || patternUsed + p <= budget)) {
				patternUsed += p;
				this.method[t] = PATTERN;
				byPattern.push(t);
				continue;
			}
			const f = forced === 'classic' ? Infinity : FastTreeShap.tableSize(trees, t);
			if (forced === 'fast' || tableUsed + f <= budget) {
				tableUsed += f;
				this.method[t] = FAST;
				byTable.push(t);
				continue;
			}
			this.method[t] = CLASSIC;
		}
		this.pattern = new PatternTreeShap(trees, byPattern, out, nOutputs);
		this.allPattern = byPattern.length === trees.nTrees;
		this.fast = new FastTreeShap(trees, byTable, out);
		this.classic = new ClassicTreeShap(trees, out);
	}

	explain(x: Float32Array, offset: number, out: Float64Array, outOffset: number): void {
		out.fill(0, outOffset, outOffset + this.nOutputs);
		if (this.allPattern) {
			this.pattern.explainAll(x, offset, out, outOffset);
			return;
		}
		const method = this.method;
		for (let t = 0; t < this.trees.nTrees; t++) {
			const m = method[t];
			if (m === PATTERN) this.pattern.explainTree(t, x, offset, out, outOffset);
			else if (m === FAST) this.fast.explainTree(t, x, offset, out, outOffset);
			else this.classic.explainTree(t, x, offset, out, outOffset);
		}
	}
}

/** Exact SHAP of a linear margin with independent features: `coef_j · (x_j − mean_j)`. */
export class LinearExplainer implements Explainer {
	readonly baseValue: number;

	constructor(
		private readonly coef: Float64Array,
		intercept: number,
		private readonly means: Float64Array,
		private readonly out: Int32Array,
		readonly nOutputs: number
	) {
		let base = intercept;
		coef.forEach((c, j) => (base += c * (means[j] ?? 0)));
		this.baseValue = base;
	}

	explain(x: Float32Array, offset: number, out: Float64Array, outOffset: number): void {
		out.fill(0, outOffset, outOffset + this.nOutputs);
		const { coef, means, out: map } = this;
		for (let j = 0; j < coef.length; j++) {
			out[outOffset + map[j]!]! += coef[j]! * (x[offset + j]! - means[j]!);
		}
	}
}

/** Input column → index of the raw feature (manifest order) that writes it. */
export function columnToFeature(manifest: Manifest): Int32Array {
	const map = new Int32Array(manifest.input.columns.length).fill(-1);
	manifest.features.forEach((f, i) => {
		for (const c of featureColumns(f)) map[c] = i;
	});
	return map;
}

/** The explainer of a bundle, giving one SHAP value per raw feature in manifest order. */
export function createExplainer(
	structure: ModelStructure,
	manifest: Manifest,
	options?: TreeExplainerOptions
): Explainer {
	const out = columnToFeature(manifest);
	const nFeatures = manifest.features.length;
	switch (structure.kind) {
		case 'tree_ensemble':
			return new TreeExplainer(structure.trees, out, nFeatures, options);
		case 'linear':
			return new LinearExplainer(
				structure.coef,
				structure.intercept,
				Float64Array.from(manifest.explanation.columnMeans ?? []),
				out,
				nFeatures
			);
	}
}
