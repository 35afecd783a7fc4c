/**
 * Path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2), ported from XGBoost's
 * `RegTree::TreeShap` without the interaction conditions. It is exact for the cover-weighted
 * conditional expectation and runs in O(leaves × depth²) per tree.
 *
 * Used for trees too deep for the table variant (`fast-tree-shap.ts`) and as its cross-check. The
 * path is kept in flat typed arrays: each recursion level copies its parent's path into the next
 * segment, as the C++ does, so nothing is allocated per row.
 */
import { goesTrue, LEAF, type TreeEnsemble } from '../bundle/onnx-trees';

/** Scratch space for one tree walk; sized by the ensemble's depth. */
export class PathScratch {
	readonly feature: Int32Array;
	readonly zero: Float64Array;
	readonly one: Float64Array;
	readonly weight: Float64Array;

	constructor(maxDepth: number) {
		const size = ((maxDepth + 2) * (maxDepth + 3)) / 2;
		this.feature = new Int32Array(size);
		this.zero = new Float64Array(size);
		this.one = new Float64Array(size);
		this.weight = new Float64Array(size);
	}
}

/** Largest number of branches on any root-to-leaf path. */
export function maxTreeDepth(e: TreeEnsemble): number {
	const depth = new Int32Array(e.nNodes);
	let max = 0;
	// Pre-order numbering: parents are seen before their children.
	for (let n = 0; n < e.nNodes; n++) {
		if (e.mode[n] === LEAF) continue;
		const d = (depth[n] ?? 0) + 1;
		depth[e.trueChild[n] ?? 0] = d;
		depth[e.falseChild[n] ?? 0] = d;
		if (d > max) max = d;
	}
	return max;
}

/**
 * Classic TreeSHAP over one ensemble. `out` maps an input column to its output slot: identity for
 * per-column values, column → raw feature for per-feature values.
 */
export class ClassicTreeShap {
	private readonly s: PathScratch;
	// Per-row state, set by explainTree; kept on the instance so the recursion allocates nothing.
	private x: Float32Array = new Float32Array(0);
	private offset = 0;
	private phi: Float64Array = new Float64Array(0);
	private phiOffset = 0;

	constructor(
		private readonly e: TreeEnsemble,
		private readonly out: Int32Array
	) {
		this.s = new PathScratch(maxTreeDepth(e));
	}

	/** Adds tree `t`'s SHAP values for row `x[offset…]` into `phi[phiOffset + out[column]]`. */
	explainTree(t: number, x: Float32Array, offset: number, phi: Float64Array, phiOffset: number): void {
		this.x = x;
		this.offset = offset;
		this.phi = phi;
		this.phiOffset = phiOffset;
		// The root level's path holds the dummy element (-1, 1, 1); segments begin at 0.
		this.walk(this.e.roots[t] ?? 0, 0, 0, 1, 1, -1);
	}

	private walk(
		node: number,
		depth: number,
		parentStart: number,
		pZero: number,
		pOne: number,
		pFeature: number
	): void {
		const { e, s } = this;
		const start = parentStart + depth;
		// Copy the parent's path into this level's segment, then extend it with the parent's split.
		for (let i = 0; i < depth; i++) {
			s.feature[start + i] = s.feature[parentStart + i] ?? 0;
			s.zero[start + i] = s.zero[parentStart + i] ?? 0;
			s.one[start + i] = s.one[parentStart + i] ?? 0;
			s.weight[start + i] = s.weight[parentStart + i] ?? 0;
		}
		extendPath(s, start, depth, pZero, pOne, pFeature);
		if (e.mode[node] === LEAF) {
			const v = e.value[node] ?? 0;
			for (let i = 1; i <= depth; i++) {
				const w = unwoundPathSum(s, start, depth, i);
				const slot = this.phiOffset + (this.out[s.feature[start + i] ?? 0] ?? 0);
				this.phi[slot]! += w * ((s.one[start + i] ?? 0) - (s.zero[start + i] ?? 0)) * v;
			}
			return;
		}
		const col = e.feature[node] ?? 0;
		const hot = goesTrue(e, node, this.x[this.offset + col] ?? NaN)
			? (e.trueChild[node] ?? 0)
			: (e.falseChild[node] ?? 0);
		const cold = hot === e.trueChild[node] ? (e.falseChild[node] ?? 0) : (e.trueChild[node] ?? 0);
		const w = e.cover[node] ?? 1;
		let inZero = 1;
		let inOne = 1;
		let d = depth;
		let k = 0;
		while (k <= d && s.feature[start + k] !== col) k++;
		if (k <= d) {
			// Already split on this column higher up: undo that element and redo it merged here.
			inZero = s.zero[start + k] ?? 0;
			inOne = s.one[start + k] ?? 0;
			unwindPath(s, start, d, k);
			d -= 1;
		}
		this.walk(hot, d + 1, start, ((e.cover[hot] ?? 0) / w) * inZero, inOne, col);
		this.walk(cold, d + 1, start, ((e.cover[cold] ?? 0) / w) * inZero, 0, col);
	}
}

function extendPath(
	s: PathScratch,
	start: number,
	depth: number,
	zero: number,
	one: number,
	feature: number
): void {
	s.feature[start + depth] = feature;
	s.zero[start + depth] = zero;
	s.one[start + depth] = one;
	s.weight[start + depth] = depth === 0 ? 1 : 0;
	for (let i = depth - 1; i >= 0; i--) {
		const wi = s.weight[start + i] ?? 0;
		s.weight[start + i + 1]! += (one * wi * (i + 1)) / (depth + 1);
		s.weight[start + i] = (zero * wi * (depth - i)) / (depth + 1);
	}
}

function unwindPath(s: PathScratch, start: number, depth: number, k: number): void {
	const one = s.one[start + k] ?? 0;
	const zero = s.zero[start + k] ?? 0;
	let next = s.weight[start + depth] ?? 0;
	for (let i = depth - 1; i >= 0; i--) {
		if (one !== 0) {
			const tmp = s.weight[start + i] ?? 0;
			const wi = (next * (depth + 1)) / ((i + 1) * one);
			s.weight[start + i] = wi;
			next = tmp - (wi * zero * (depth - i)) / (depth + 1);
		} else {
			s.weight[start + i] = ((s.weight[start + i] ?? 0) * (depth + 1)) / (zero * (depth - i));
		}
	}
	for (let i = k; i < depth; i++) {
		s.feature[start + i] = s.feature[start + i + 1] ?? 0;
		s.zero[start + i] = s.zero[start + i + 1] ?? 0;
		s.one[start + i] = s.one[start + i + 1] ?? 0;
	}
}

function unwoundPathSum(s: PathScratch, start: number, depth: number, k: number): number {
	const one = s.one[start + k] ?? 0;
	const zero = s.zero[start + k] ?? 0;
	let next = s.weight[start + depth] ?? 0;
	let total = 0;
	for (let i = depth - 1; i >= 0; i--) {
		if (one !== 0) {
			const tmp = (next * (depth + 1)) / ((i + 1) * one);
			total += tmp;
			next = (s.weight[start + i] ?? 0) - tmp * zero * ((depth - i) / (depth + 1));
		} else if (zero !== 0) {
			total += (s.weight[start + i] ?? 0) / zero / ((depth - i) / (depth + 1));
		}
	}
	return total;
}
