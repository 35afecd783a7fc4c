/**
 * What the explainers need from `model.onnx`, checked against the bundle contract:
 * - trees: input → `TreeEnsembleRegressor` → margin → `Sigmoid` → probability;
 * - linear: input → `MatMul`(coef [F,1]) → `Add`(intercept) → margin → `Sigmoid` → probability.
 * A graph of any other shape is refused: an explanation of a graph we did not understand would be
 * a guess.
 */
import { UnsupportedModel } from '../errors';
import type { Manifest } from '../manifest';
import {
	decodeGraph,
	initializer,
	singleNode,
	tensorDims,
	tensorValues,
	type GraphProto
} from './onnx-graph';
import { parseTreeEnsemble, type TreeEnsemble } from './onnx-trees';

/** The model's parameters in the form the explainers use. */
export type ModelStructure =
	| { readonly kind: 'tree_ensemble'; readonly trees: TreeEnsemble }
	| { readonly kind: 'linear'; readonly coef: Float64Array; readonly intercept: number };

/**
 * Decodes `model.onnx` and extracts the trees or the linear coefficients.
 * @throws {UnsupportedModel} the graph does not follow the bundle contract
 * @throws {MissingCover} a tree model without node cover
 */
export function readModelStructure(bytes: Uint8Array, manifest: Manifest): ModelStructure {
	const graph = decodeGraph(bytes);
	const { input, output } = manifest;
	const inputs = (graph.input ?? []).map((i) => i.name).filter((n) => !initializer(graph, n ?? ''));
	if (inputs.length !== 1 || inputs[0] !== input.name) {
		throw new UnsupportedModel(
			`graph inputs are [${inputs.join(', ')}]; the manifest expects one input "${input.name}"`
		);
	}
	const outputs = new Set((graph.output ?? []).map((o) => o.name));
	for (const name of [output.margin, output.probability]) {
		if (!outputs.has(name)) throw new UnsupportedModel(`graph has no output "${name}"`);
	}
	const sigmoid = singleNode(graph, 'Sigmoid');
	if (sigmoid.input?.[0] !== output.margin || sigmoid.output?.[0] !== output.probability) {
		throw new UnsupportedModel(`expected Sigmoid(${output.margin}) → ${output.probability}`);
	}
	const nCols = input.columns.length;
	if (manifest.model.kind === 'tree_ensemble') {
		const node = singleNode(graph, 'TreeEnsembleRegressor');
		if (node.input?.[0] !== input.name || node.output?.[0] !== output.margin) {
			throw new UnsupportedModel(`expected TreeEnsembleRegressor(${input.name}) → ${output.margin}`);
		}
		return { kind: 'tree_ensemble', trees: parseTreeEnsemble(node, nCols) };
	}
	return { kind: 'linear', ...readLinear(graph, input.name, output.margin, nCols) };
}

function readLinear(
	graph: GraphProto,
	inputName: string,
	marginName: string,
	nCols: number
): { coef: Float64Array; intercept: number } {
	const matmul = singleNode(graph, 'MatMul');
	const add = singleNode(graph, 'Add');
	const mmOut = matmul.output?.[0];
	if (
		matmul.input?.[0] !== inputName ||
		add.output?.[0] !== marginName ||
		mmOut === undefined ||
		!add.input?.includes(mmOut)
	) {
		throw new UnsupportedModel(`expected Add(MatMul(${inputName}, coef), intercept) → ${marginName}`);
	}
	const w = initializer(graph, matmul.input[1] ?? '');
	const b = initializer(graph, add.input.find((n) => n !== mmOut) ?? '');
	if (!w || !b) throw new UnsupportedModel('MatMul and Add must take their coefficients from initializers');
	const dims = tensorDims(w);
	if (dims[0] !== nCols || dims.slice(1).some((d) => d !== 1)) {
		throw new UnsupportedModel(`coef has shape [${dims.join(', ')}]; expected [${nCols}, 1]`);
	}
	const coef = tensorValues(w, 'coef');
	const intercept = tensorValues(b, 'intercept');
	if (coef.length !== nCols || intercept.length !== 1)
		throw new UnsupportedModel('coef or intercept has the wrong size');
	return { coef, intercept: intercept[0] ?? 0 };
}
