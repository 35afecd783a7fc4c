/**
 * Reading an ONNX file in TypeScript. onnxruntime does not expose a graph's attributes or
 * initializers, and exact explanations need them (tree thresholds and covers, linear
 * coefficients), so the file is decoded with the protobufjs definitions of `onnx-proto`.
 */
// onnx-proto is CommonJS assigning `module.exports`: Node's ESM loader only offers a default import.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { UnsupportedModel } from '../errors';

const { onnx } = onnxProto;
export type NodeProto = OnnxTypes.INodeProto;
export type AttributeProto = OnnxTypes.IAttributeProto;
export type TensorProto = OnnxTypes.ITensorProto;
export type GraphProto = OnnxTypes.IGraphProto;

/** int64 fields decode as `Long` objects when the `long` package is present, as numbers otherwise. */
type Int64 = number | { toNumber(): number };

function int(v: Int64 | null | undefined): number {
	if (v === null || v === undefined) return 0;
	return typeof v === 'number' ? v : v.toNumber();
}

/** Decodes `model.onnx` and returns its graph. */
export function decodeGraph(bytes: Uint8Array): GraphProto {
	let model: OnnxTypes.ModelProto;
	try {
		model = onnx.ModelProto.decode(bytes);
	} catch (e) {
		throw new UnsupportedModel(`model.onnx is not a valid ONNX protobuf: ${(e as Error).message}`);
	}
	if (!model.graph) throw new UnsupportedModel('model.onnx has no graph');
	return model.graph;
}

/** Attribute lookup for one node, with typed readers that say which attribute is wrong. */
export class Attributes {
	private readonly byName = new Map<string, AttributeProto>();

	constructor(private readonly node: NodeProto) {
		for (const a of node.attribute ?? []) if (a.name) this.byName.set(a.name, a);
	}

	has(name: string): boolean {
		return this.byName.has(name);
	}

	ints(name: string): number[] | undefined {
		return this.byName.get(name)?.ints?.map(int);
	}

	int(name: string): number | undefined {
		const a = this.byName.get(name);
		return a ? int(a.i as Int64 | null | undefined) : undefined;
	}

	string(name: string): string | undefined {
		const a = this.byName.get(name);
		return a?.s ? new TextDecoder().decode(a.s) : undefined;
	}

	strings(name: string): string[] | undefined {
		return this.byName.get(name)?.strings?.map((s) => new TextDecoder().decode(s));
	}

	/** A float list, or its `<name>_as_tensor` double-precision variant (ai.onnx.ml opset 3). */
	floats(name: string): Float64Array | undefined {
		const t = this.byName.get(`${name}_as_tensor`)?.t;
		if (t) return tensorValues(t, `${this.node.opType ?? 'node'}.${name}_as_tensor`);
		const f = this.byName.get(name)?.floats;
		return f ? Float64Array.from(f) : undefined;
	}
}

const FLOAT = 1;
const DOUBLE = 11;

/** Values of a float or double tensor, from typed fields or little-endian `raw_data`. */
export function tensorValues(t: TensorProto, what: string): Float64Array {
	if (t.dataType === FLOAT) {
		if (t.rawData && t.rawData.length > 0) {
			const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
			return Float64Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
		}
		return Float64Array.from(t.floatData ?? []);
	}
	if (t.dataType === DOUBLE) {
		if (t.rawData && t.rawData.length > 0) {
			const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
			return Float64Array.from({ length: t.rawData.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
		}
		return Float64Array.from(t.doubleData ?? []);
	}
	throw new UnsupportedModel(`${what}: tensor type ${t.dataType ?? '?'} is not float or double`);
}

/** A tensor's dimensions as numbers. */
export function tensorDims(t: TensorProto): number[] {
	return (t.dims ?? []).map(int);
}

/** The only node of `opType` in the graph; fails when there are none or several. */
export function singleNode(graph: GraphProto, opType: string): NodeProto {
	const found = (graph.node ?? []).filter((n) => n.opType === opType);
	const [first] = found;
	if (first === undefined || found.length > 1) {
		throw new UnsupportedModel(`expected exactly one ${opType} node, found ${found.length}`);
	}
	return first;
}

/** The initializer named `name`, if the graph has one. */
export function initializer(graph: GraphProto, name: string): TensorProto | undefined {
	return (graph.initializer ?? []).find((t) => t.name === name);
}
