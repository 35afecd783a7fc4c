/**
 * The tree ensemble of an ONNX `ai.onnx.ml.TreeEnsembleRegressor`, flattened into typed arrays for
 * TreeSHAP: thresholds, children, default directions, leaf values and node cover
 * (`nodes_hitrates`). Nodes are renumbered so each tree is contiguous and in pre-order (a parent
 * always precedes its children), which lets the explainer walk a tree with a single forward loop.
 *
 * Comparison semantics copy onnxruntime's: a row goes to the true child when `x CMP threshold`
 * holds, or when x is NaN and `nodes_missing_value_tracks_true` is set.
 */
import { MissingCover, UnsupportedModel } from '../errors';
import { Attributes, type NodeProto } from './onnx-graph';

/** `mode` of a leaf node. */
export const LEAF = 0;
const MODES: Record<string, number> = {
	LEAF,
	BRANCH_LT: 1,
	BRANCH_LEQ: 2,
	BRANCH_GT: 3,
	BRANCH_GTE: 4,
	BRANCH_EQ: 5,
	BRANCH_NEQ: 6
};

/** A flattened tree ensemble; node arrays are indexed by the renumbered node. */
export interface TreeEnsemble {
	readonly nTrees: number;
	readonly nNodes: number;
	/** First node of each tree, plus `nNodes` at the end: tree t is `[roots[t], roots[t + 1])`. */
	readonly roots: Int32Array;
	/** 0 for a leaf, else the branch mode (1 LT, 2 LEQ, 3 GT, 4 GTE, 5 EQ, 6 NEQ). */
	readonly mode: Uint8Array;
	/** Input column tested by a branch (-1 for leaves). */
	readonly feature: Int32Array;
	readonly threshold: Float64Array;
	readonly trueChild: Int32Array;
	readonly falseChild: Int32Array;
	readonly missingTrue: Uint8Array;
	/** Node cover (XGBoost: sum of hessians); the path-dependent expectation weights by it. */
	readonly cover: Float64Array;
	/** Leaf value (sum of the leaf's target weights); 0 on branches. */
	readonly value: Float64Array;
	/** `base_values[0]`: added to every row's margin. */
	readonly base: number;
}

/** Whether row value `x` follows node `n` to its true child (onnxruntime's rule). */
export function goesTrue(e: TreeEnsemble, n: number, x: number): boolean {
	if (x !== x) return e.missingTrue[n] === 1 || e.mode[n] === 6;
	const t = e.threshold[n] ?? NaN;
	switch (e.mode[n] ?? 0) {
		case 1:
			return x < t;
		case 2:
			return x <= t;
		case 3:
			return x > t;
		case 4:
			return x >= t;
		case 5:
			return x === t;
		default:
			return x !== t;
	}
}

/** The ensemble's margin for one row, in float64 (the reference the explainers must add up to). */
export function ensembleMargin(e: TreeEnsemble, x: Float32Array, offset = 0): number {
	let sum = e.base;
	for (let t = 0; t < e.nTrees; t++) {
		let n = e.roots[t] ?? 0;
		while (e.mode[n] !== LEAF) {
			n = goesTrue(e, n, x[offset + (e.feature[n] ?? 0)] ?? NaN)
				? (e.trueChild[n] ?? 0)
				: (e.falseChild[n] ?? 0);
		}
		sum += e.value[n] ?? 0;
	}
	return sum;
}

/** Expected margin under the cover distribution: the SHAP base value. */
export function ensembleExpectedValue(e: TreeEnsemble): number {
	let sum = e.base;
	for (let t = 0; t < e.nTrees; t++) {
		const root = e.roots[t] ?? 0;
		const end = e.roots[t + 1] ?? 0;
		const rootCover = e.cover[root] ?? 0;
		for (let n = root; n < end; n++) {
			if (e.mode[n] === LEAF) sum += ((e.value[n] ?? 0) * (e.cover[n] ?? 0)) / rootCover;
		}
	}
	return sum;
}

/**
 * Reads a `TreeEnsembleRegressor` node (one target, SUM, no post-transform).
 * @throws {UnsupportedModel} any other layout
 * @throws {MissingCover} no `nodes_hitrates`, or values that are not a cover
 */
export function parseTreeEnsemble(node: NodeProto, nColumns: number): TreeEnsemble {
	const a = new Attributes(node);
	const nTargets = a.int('n_targets') ?? 1;
	const aggregate = a.string('aggregate_function') ?? 'SUM';
	const post = a.string('post_transform') ?? 'NONE';
	if (nTargets !== 1 || aggregate !== 'SUM' || post !== 'NONE') {
		throw new UnsupportedModel(
			`TreeEnsembleRegressor must have n_targets 1, SUM, NONE (has ${nTargets}, ${aggregate}, ${post})`
		);
	}
	const treeIds = required(a.ints('nodes_treeids'), 'nodes_treeids');
	const nodeIds = required(a.ints('nodes_nodeids'), 'nodes_nodeids');
	const n = treeIds.length;
	const cols = sized(required(a.ints('nodes_featureids'), 'nodes_featureids'), n, 'nodes_featureids');
	const modes = sized(required(a.strings('nodes_modes'), 'nodes_modes'), n, 'nodes_modes');
	const values = sized(required(a.floats('nodes_values'), 'nodes_values'), n, 'nodes_values');
	const trueIds = sized(required(a.ints('nodes_truenodeids'), 'nodes_truenodeids'), n, 'nodes_truenodeids');
	const falseIds = sized(
		required(a.ints('nodes_falsenodeids'), 'nodes_falsenodeids'),
		n,
		'nodes_falsenodeids'
	);
	const missing = a.ints('nodes_missing_value_tracks_true') ?? new Array<number>(n).fill(0);
	const hitrates = a.floats('nodes_hitrates');
	if (hitrates === undefined) {
		throw new MissingCover(
			'the tree ensemble has no nodes_hitrates: TreeSHAP needs the node cover of every node'
		);
	}
	if (hitrates.length !== n)
		throw new MissingCover(`nodes_hitrates has ${hitrates.length} values for ${n} nodes`);
	sized(nodeIds, n, 'nodes_nodeids');
	sized(missing, n, 'nodes_missing_value_tracks_true');

	// (tree id, node id) → position in the attribute arrays.
	const index = new Map<number, Map<number, number>>();
	for (let i = 0; i < n; i++) {
		const tid = treeIds[i] ?? 0;
		let tree = index.get(tid);
		if (!tree) index.set(tid, (tree = new Map<number, number>()));
		if (tree.has(nodeIds[i] ?? 0)) throw new UnsupportedModel(`tree ${tid} repeats node id ${nodeIds[i]}`);
		tree.set(nodeIds[i] ?? 0, i);
	}
	const leafValue = new Float64Array(n);
	const tTrees = required(a.ints('target_treeids'), 'target_treeids');
	const tNodes = sized(required(a.ints('target_nodeids'), 'target_nodeids'), tTrees.length, 'target_nodeids');
	const tIds = sized(required(a.ints('target_ids'), 'target_ids'), tTrees.length, 'target_ids');
	const tWeights = sized(
		required(a.floats('target_weights'), 'target_weights'),
		tTrees.length,
		'target_weights'
	);
	tTrees.forEach((tid, j) => {
		const i = index.get(tid)?.get(tNodes[j] ?? -1);
		if (i === undefined || modes[i] !== 'LEAF')
			throw new UnsupportedModel(`target ${j} does not point at a leaf`);
		if (tIds[j] !== 0)
			throw new UnsupportedModel(`target ${j} has target id ${tIds[j]}; only one target is supported`);
		leafValue[i] = (leafValue[i] ?? 0) + (tWeights[j] ?? 0);
	});

	// Renumber each tree in pre-order from its root.
	const order: number[] = [];
	const roots: number[] = [];
	const childPos = (tid: number, id: number | undefined, from: number): number => {
		const p = index.get(tid)?.get(id ?? -1);
		if (p === undefined)
			throw new UnsupportedModel(`tree ${tid}: node ${nodeIds[from]} points at missing node ${id}`);
		return p;
	};
	for (const [tid, tree] of [...index].sort((x, y) => x[0] - y[0])) {
		const children = new Set<number>();
		for (const i of tree.values()) {
			if (modes[i] !== 'LEAF') children.add(childPos(tid, trueIds[i], i)).add(childPos(tid, falseIds[i], i));
		}
		const rootList = [...tree.values()].filter((i) => !children.has(i));
		const [root] = rootList;
		if (root === undefined || rootList.length !== 1)
			throw new UnsupportedModel(`tree ${tid} has ${rootList.length} roots`);
		roots.push(order.length);
		const stack = [root];
		const start = order.length;
		while (stack.length > 0) {
			const i = stack.pop() ?? 0;
			order.push(i);
			if (order.length - start > tree.size) throw new UnsupportedModel(`tree ${tid} is not a tree (cycle)`);
			if (modes[i] !== 'LEAF') stack.push(childPos(tid, falseIds[i], i), childPos(tid, trueIds[i], i));
		}
		if (order.length - start !== tree.size) throw new UnsupportedModel(`tree ${tid} has unreachable nodes`);
	}
	const newPos = new Int32Array(n);
	order.forEach((i, p) => (newPos[i] = p));

	const base = a.floats('base_values');
	const e: TreeEnsemble = {
		nTrees: roots.length,
		nNodes: n,
		roots: Int32Array.from([...roots, n]),
		mode: new Uint8Array(n),
		feature: new Int32Array(n).fill(-1),
		threshold: new Float64Array(n),
		trueChild: new Int32Array(n).fill(-1),
		falseChild: new Int32Array(n).fill(-1),
		missingTrue: new Uint8Array(n),
		cover: new Float64Array(n),
		value: new Float64Array(n),
		base: base === undefined ? 0 : (base[0] ?? 0)
	};
	order.forEach((i, p) => {
		const mode = MODES[modes[i] ?? ''];
		if (mode === undefined) throw new UnsupportedModel(`node mode ${modes[i]} is not supported`);
		const tid = treeIds[i] ?? 0;
		e.mode[p] = mode;
		e.cover[p] = hitrates[i] ?? NaN;
		e.value[p] = leafValue[i] ?? 0;
		if (mode === LEAF) return;
		const col = cols[i] ?? -1;
		if (col < 0 || col >= nColumns)
			throw new UnsupportedModel(`tree ${tid} tests column ${col}; the input has ${nColumns}`);
		e.feature[p] = col;
		e.threshold[p] = values[i] ?? NaN;
		e.missingTrue[p] = missing[i] === 1 ? 1 : 0;
		e.trueChild[p] = newPos[childPos(tid, trueIds[i], i)] ?? -1;
		e.falseChild[p] = newPos[childPos(tid, falseIds[i], i)] ?? -1;
	});
	checkCover(e);
	return e;
}

/**
 * Cover must be positive on branches and (up to float32 rounding) the sum of the children's
 * cover. A converter that wrote the spec's default hit rate (1.0 everywhere) fails here rather
 * than producing SHAP values that look plausible and are wrong.
 */
function checkCover(e: TreeEnsemble): void {
	for (let n = 0; n < e.nNodes; n++) {
		const c = e.cover[n] ?? NaN;
		if (!Number.isFinite(c) || c < 0) throw new MissingCover(`node ${n} has cover ${c}`);
		if (e.mode[n] === LEAF) continue;
		const l = e.cover[e.trueChild[n] ?? 0] ?? NaN;
		const r = e.cover[e.falseChild[n] ?? 0] ?? NaN;
		if (!(c > 0) || !(Math.abs(l + r - c) <= 1e-3 * c)) {
			throw new MissingCover(
				`nodes_hitrates is not a node cover: a branch has ${c}, its children ${l} + ${r}`
			);
		}
	}
}

function required<T>(v: T | undefined, name: string): T {
	if (v === undefined) throw new UnsupportedModel(`TreeEnsembleRegressor has no ${name}`);
	return v;
}

function sized<T extends ArrayLike<unknown>>(v: T, n: number, name: string): T {
	if (v.length !== n) throw new UnsupportedModel(`${name} has ${v.length} values for ${n} nodes`);
	return v;
}
