/**
 * Tiny real models for tests, written as ONNX with onnx-proto in the exact layout of the shipped
 * bundles: a 2-tree `TreeEnsembleRegressor` (with a repeated column on a path, NaN default
 * directions and non-contiguous node ids) and a MatMul + Add linear model, each followed by a
 * Sigmoid. `generate-fixtures.ts` writes them as bundles; the golden values come from the
 * brute-force reference, not from the code under test.
 *
 * All numbers are exactly representable in float32 so the file, the reference and onnxruntime
 * agree on them bit for bit.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { RawApplicant } from '../manifest';
import type { RefEnsemble, RefNode } from './brute-force-shapley';

const { onnx } = onnxProto;
const { AttributeType } = onnx.AttributeProto;

/** Input columns: income, purpose one-hot (car, home, other), grade code, age. */
export const TINY_COLUMNS = ['income', 'purpose=car', 'purpose=home', 'purpose=other', 'grade', 'age'];

const leaf = (value: number, cover: number): RefNode => ({ leaf: value, cover });
const split = (
	column: number,
	threshold: number,
	missingYes: boolean,
	cover: number,
	yes: RefNode,
	no: RefNode
): RefNode => ({
	column,
	threshold,
	missingYes,
	cover,
	yes,
	no
});

/** Two trees; tree 0 tests income twice on one path, tree 1 tests grade twice. */
export const TINY_TREES: RefEnsemble = {
	base: -1.25,
	columns: TINY_COLUMNS.length,
	trees: [
		split(
			0,
			50000,
			true,
			100,
			split(
				4,
				1.5,
				false,
				60,
				split(5, 30, false, 35, leaf(0.375, 15), leaf(-0.125, 20)),
				split(1, 0.5, false, 25, leaf(0.25, 18), leaf(0.625, 7))
			),
			split(
				5,
				40,
				false,
				40,
				leaf(-0.3125, 22),
				split(0, 120000, false, 18, leaf(-0.5, 10), leaf(-0.1875, 8))
			)
		),
		split(
			4,
			0.5,
			false,
			100,
			leaf(-0.4375, 30),
			split(
				4,
				1.5,
				false,
				70,
				split(2, 0.5, true, 45, leaf(0.125, 25), split(5, 25, false, 20, leaf(0.5, 5), leaf(0.0625, 15))),
				leaf(0.34375, 25)
			)
		)
	]
};

/** The linear fixture: coefficients per column, intercept, training column means. */
export const TINY_LINEAR = {
	coef: [2 ** -16, 0.375, -0.25, 0.125, 0.5, -0.03125],
	intercept: -1.5,
	means: [40000, 0.25, 0.5, 0.25, 1, 40]
};

export interface TreeOnnxOptions {
	/** Write `nodes_hitrates` (default true): without it TreeSHAP must refuse the model. */
	cover?: boolean;
	/** Branch mode for every split (default BRANCH_LT; the reference only knows LT). */
	mode?: string;
}

/** Encodes a reference ensemble as input → TreeEnsembleRegressor → margin → Sigmoid → probability. */
export function treeEnsembleOnnx(e: RefEnsemble, options: TreeOnnxOptions = {}): Uint8Array {
	const a = {
		treeids: [] as number[],
		nodeids: [] as number[],
		featureids: [] as number[],
		modes: [] as string[]
	};
	const b = {
		values: [] as number[],
		trueids: [] as number[],
		falseids: [] as number[],
		missing: [] as number[],
		hit: [] as number[]
	};
	const t = { treeids: [] as number[], nodeids: [] as number[], weights: [] as number[] };
	e.trees.forEach((root, tree) => {
		// Breadth-first ids: the parser must not assume the pre-order it uses itself.
		const queue: RefNode[] = [root];
		const id = new Map<RefNode, number>([[root, 0]]);
		for (let i = 0; i < queue.length; i++) {
			const n = queue[i];
			if (n === undefined) continue;
			a.treeids.push(tree);
			a.nodeids.push(id.get(n) ?? -1);
			b.hit.push(n.cover);
			if ('leaf' in n) {
				a.featureids.push(0);
				a.modes.push('LEAF');
				b.values.push(0);
				b.trueids.push(0);
				b.falseids.push(0);
				b.missing.push(0);
				t.treeids.push(tree);
				t.nodeids.push(id.get(n) ?? -1);
				t.weights.push(n.leaf);
				continue;
			}
			for (const child of [n.yes, n.no]) {
				id.set(child, id.size);
				queue.push(child);
			}
			a.featureids.push(n.column);
			a.modes.push(options.mode ?? 'BRANCH_LT');
			b.values.push(n.threshold);
			b.trueids.push(id.get(n.yes) ?? -1);
			b.falseids.push(id.get(n.no) ?? -1);
			b.missing.push(n.missingYes ? 1 : 0);
		}
	});
	const attrs = [
		{ name: 'n_targets', type: AttributeType.INT, i: 1 },
		str('aggregate_function', 'SUM'),
		str('post_transform', 'NONE'),
		floats('base_values', [e.base]),
		ints('nodes_treeids', a.treeids),
		ints('nodes_nodeids', a.nodeids),
		ints('nodes_featureids', a.featureids),
		strs('nodes_modes', a.modes),
		floats('nodes_values', b.values),
		ints('nodes_truenodeids', b.trueids),
		ints('nodes_falsenodeids', b.falseids),
		ints('nodes_missing_value_tracks_true', b.missing),
		...(options.cover === false ? [] : [floats('nodes_hitrates', b.hit)]),
		ints('target_treeids', t.treeids),
		ints('target_nodeids', t.nodeids),
		ints(
			'target_ids',
			t.nodeids.map(() => 0)
		),
		floats('target_weights', t.weights)
	];
	const trees = {
		opType: 'TreeEnsembleRegressor',
		domain: 'ai.onnx.ml',
		input: ['input'],
		output: ['margin'],
		attribute: attrs
	};
	return model([trees, sigmoid()], [], e.columns);
}

/** Encodes input → MatMul(coef) → Add(intercept) → margin → Sigmoid → probability. */
export function linearOnnx(coef: readonly number[], intercept: number): Uint8Array {
	const nodes = [
		{ opType: 'MatMul', input: ['input', 'coef'], output: ['logit'] },
		{ opType: 'Add', input: ['logit', 'intercept'], output: ['margin'] },
		sigmoid()
	];
	const inits = [
		{ name: 'coef', dataType: 1, dims: [coef.length, 1], floatData: [...coef] },
		{ name: 'intercept', dataType: 1, dims: [1], floatData: [intercept] }
	];
	return model(nodes, inits, coef.length);
}

function sigmoid(): OnnxTypes.INodeProto {
	return { opType: 'Sigmoid', input: ['margin'], output: ['probability'] };
}

function model(
	nodes: OnnxTypes.INodeProto[],
	initializer: OnnxTypes.ITensorProto[],
	nCols: number
): Uint8Array {
	const tensor = (name: string, dims: (number | string)[]): OnnxTypes.IValueInfoProto => ({
		name,
		type: {
			tensorType: {
				elemType: 1,
				shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }
			}
		}
	});
	const proto = onnx.ModelProto.create({
		irVersion: 8,
		producerName: 'credible-test-fixtures',
		opsetImport: [
			{ domain: '', version: 13 },
			{ domain: 'ai.onnx.ml', version: 3 }
		],
		graph: {
			name: 'tiny',
			node: nodes,
			initializer,
			input: [tensor('input', ['N', nCols])],
			output: [tensor('margin', ['N', 1]), tensor('probability', ['N', 1])]
		}
	});
	return onnx.ModelProto.encode(proto).finish();
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const ints = (name: string, v: number[]): OnnxTypes.IAttributeProto => ({
	name,
	type: AttributeType.INTS,
	ints: v
});
const floats = (name: string, v: number[]): OnnxTypes.IAttributeProto => ({
	name,
	type: AttributeType.FLOATS,
	floats: v
});
const str = (name: string, v: string): OnnxTypes.IAttributeProto => ({
	name,
	type: AttributeType.STRING,
	s: text(v)
});
const strs = (name: string, v: string[]): OnnxTypes.IAttributeProto => ({
	name,
	type: AttributeType.STRINGS,
	strings: v.map(text)
});

/** Raw applicants of the golden files: categories, boundaries (x == threshold) and missing values. */
export const TINY_GOLDEN_RAW: RawApplicant[] = [
	{ income: 30000, purpose: 'car', grade: 'A', age: 25 },
	{ income: 50000, purpose: 'home', grade: 'B', age: 40 },
	{ income: null, purpose: 'other', grade: 'C', age: 35 },
	{ income: 80000, purpose: null, grade: 'B', age: 60 },
	{ income: 150000, purpose: 'car', grade: 'C', age: 22 },
	{ income: 120000, purpose: 'home', grade: 'A', age: 39 },
	{ income: 10000, purpose: null, grade: 'B', age: 24 },
	{ income: null, purpose: null, grade: 'A', age: 18 },
	{ income: 45000, purpose: 'car', grade: 'B', age: 30 },
	{ income: 64000, purpose: 'other', grade: 'C', age: 70 }
];
