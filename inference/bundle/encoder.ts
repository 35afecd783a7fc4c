/**
 * The one encoder from raw applicant to model tensor row, driven by the manifest. The API, the
 * portal and batch scoring all call this; the training script encodes the same way, and the
 * golden test proves the two agree.
 *
 * Rules: passthrough → float32; one_hot → 1 in the category's column and 0 in the others, missing →
 * NaN in every column of the feature; ordinal → the category's code, missing → NaN.
 *
 * The manifest is compiled once into a flat plan so that encoding a row does no allocation: it runs
 * on the request path for every applicant.
 */
import { InvalidInput } from '../errors';
import type { Manifest, RawApplicant } from '../manifest';

const PASSTHROUGH = 0;
const ONE_HOT = 1;
const ORDINAL = 2;

interface Step {
	readonly name: string;
	readonly kind: typeof PASSTHROUGH | typeof ONE_HOT | typeof ORDINAL;
	/** passthrough/ordinal: the column; one_hot: unused (see `columns`). */
	readonly column: number;
	/** one_hot: every column of the feature. */
	readonly columns: Int32Array;
	/** one_hot: category → column; ordinal: category → code. */
	readonly lookup: ReadonlyMap<string, number>;
	/** Inverse of `lookup`, for {@link Encoder.decode}. */
	readonly reverse: ReadonlyMap<number, string>;
}

/** Encodes raw applicants into float32 rows of the model's input tensor. */
export interface Encoder {
	/** Width of a row: `manifest.input.columns.length`. */
	readonly columns: number;
	/** Feature names in manifest order (the order of SHAP vectors). */
	readonly features: readonly string[];
	/**
	 * Writes one applicant into `out[offset … offset + columns)`. Absent and null are missing.
	 * @throws {InvalidInput} a category the model does not know, or a value of the wrong type
	 */
	encode(raw: Readonly<RawApplicant>, out: Float32Array, offset?: number): void;
	/** Encodes many applicants into one `[n × columns]` array. */
	encodeMany(raws: readonly Readonly<RawApplicant>[]): Float32Array;
	/** The raw value held by an encoded row for feature `featureIndex` (null when missing). */
	decode(row: Float32Array, offset: number, featureIndex: number): number | string | null;
}

/** Compiles the manifest's encodings into an {@link Encoder}. */
export function createEncoder(manifest: Manifest): Encoder {
	const steps = manifest.features.map(compileStep);
	const columns = manifest.input.columns.length;
	const features = manifest.features.map((f) => f.name);

	function encode(raw: Readonly<RawApplicant>, out: Float32Array, offset = 0): void {
		for (const s of steps) {
			const v = raw[s.name];
			if (s.kind === ONE_HOT) {
				if (v === null || v === undefined) {
					for (const c of s.columns) out[offset + c] = NaN;
					continue;
				}
				const col = typeof v === 'string' ? s.lookup.get(v) : undefined;
				if (col === undefined) throw unknownCategory(s, v);
				for (const c of s.columns) out[offset + c] = 0;
				out[offset + col] = 1;
			} else if (v === null || v === undefined) {
				out[offset + s.column] = NaN;
			} else if (s.kind === PASSTHROUGH) {
				if (typeof v !== 'number')
					throw new InvalidInput(s.name, `expected a number, got ${JSON.stringify(v)}`);
				out[offset + s.column] = v;
			} else {
				const code = typeof v === 'string' ? s.lookup.get(v) : undefined;
				if (code === undefined) throw unknownCategory(s, v);
				out[offset + s.column] = code;
			}
		}
	}

	function decode(row: Float32Array, offset: number, featureIndex: number): number | string | null {
		const s = steps[featureIndex];
		if (s === undefined) throw new RangeError(`feature index ${featureIndex} out of range`);
		if (s.kind === ONE_HOT) {
			for (const c of s.columns) {
				if (row[offset + c] === 1) return s.reverse.get(c) ?? null;
			}
			return null;
		}
		const x = row[offset + s.column] ?? NaN;
		if (Number.isNaN(x)) return null;
		return s.kind === PASSTHROUGH ? x : (s.reverse.get(x) ?? null);
	}

	return {
		columns,
		features,
		encode,
		encodeMany(raws) {
			const out = new Float32Array(raws.length * columns);
			raws.forEach((raw, i) => encode(raw, out, i * columns));
			return out;
		},
		decode
	};
}

function compileStep(f: Manifest['features'][number]): Step {
	const enc = f.encoding;
	const none = new Int32Array(0);
	switch (enc.kind) {
		case 'passthrough':
			return {
				name: f.name,
				kind: PASSTHROUGH,
				column: enc.column,
				columns: none,
				lookup: new Map(),
				reverse: new Map()
			};
		case 'one_hot': {
			const lookup = new Map(Object.entries(enc.columns));
			const reverse = new Map([...lookup].map(([k, v]) => [v, k] as const));
			return {
				name: f.name,
				kind: ONE_HOT,
				column: -1,
				columns: Int32Array.from(lookup.values()),
				lookup,
				reverse
			};
		}
		case 'ordinal': {
			const lookup = new Map(Object.entries(enc.codes));
			// Keys as float32: `decode` reads codes back from a Float32Array.
			const reverse = new Map([...lookup].map(([k, v]) => [Math.fround(v), k] as const));
			return { name: f.name, kind: ORDINAL, column: enc.column, columns: none, lookup, reverse };
		}
	}
}

function unknownCategory(s: Step, v: unknown): InvalidInput {
	const allowed = [...s.lookup.keys()].join(', ');
	return new InvalidInput(s.name, `unknown category ${JSON.stringify(v)} (allowed: ${allowed})`);
}
