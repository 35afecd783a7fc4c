/**
 * Where a caller's results go once its rows come back from a worker — possibly from several tasks
 * when a call was split. One object per call settles the call's promise when all its rows are in,
 * or at the first failure.
 */
import type { Decision } from '../decision/policy';
import type { RawApplicant } from '../manifest';
import type { ModelVersion } from './registry';

/** Options of a scoring call. */
export interface ScoreOptions {
	/** Compute exact SHAP values (per raw feature, log-odds). */
	explain?: boolean;
	/** Apply the version's decision policy (implies `explain`: reason codes need SHAP). */
	decide?: boolean;
}

/** The score of one row. */
export interface RowScore {
	/** Model id and the exact version that produced this score (record it for audit). */
	model: string;
	version: string;
	/** Probability of default (the positive class). */
	probability: number;
	/** Log-odds margin: `baseValue + Σ shap`. */
	margin: number;
	/** Expected margin of the version (SHAP base value). */
	baseValue: number;
	/** SHAP value per raw feature, when asked for. */
	shap?: Record<string, number>;
	decision?: Decision;
}

/** Scores of a batch, column-wise (no per-row objects unless decisions are asked for). */
export interface BatchScore {
	model: string;
	version: string;
	rows: number;
	probability: Float64Array;
	margin: Float64Array;
	baseValue: number;
	/** Feature names: the order of each row's SHAP values. */
	features: readonly string[];
	/** `[rows × features]` SHAP values, when asked for. */
	shap: Float64Array | null;
	decisions: Decision[] | null;
}

/** Caller input as the sinks see it: the raw applicants (for reason values) or encoded rows. */
export type CallerRows = readonly Readonly<RawApplicant>[] | Float32Array;

export interface ResultSink {
	/**
	 * Rows `[taskRow, taskRow + count)` of a task of `nRows` rows are the caller's rows from
	 * `callerRow`; their SHAP values start at `data[shapAt]` (-1: not explained).
	 */
	deliver(
		v: ModelVersion,
		data: Float64Array,
		nRows: number,
		taskRow: number,
		callerRow: number,
		count: number,
		shapAt: number
	): void;
	fail(error: Error): void;
}

function valueOf(
	v: ModelVersion,
	rows: CallerRows,
	row: number
): (feature: number) => number | string | null {
	if (rows instanceof Float32Array) return (i) => v.encoder.decode(rows, row * v.nCols, i);
	const raw = rows[row];
	return (i) => raw?.[v.features[i] ?? ''] ?? null;
}

/** One row's score; `rows` and `row` locate the caller's input, read only for decisions. */
function rowScore(
	v: ModelVersion,
	data: Float64Array,
	nRows: number,
	r: number,
	shapAt: number,
	decide: boolean,
	rows: CallerRows,
	row: number
): RowScore {
	const probability = data[r] ?? NaN;
	const score: RowScore = {
		model: v.id,
		version: v.version,
		probability,
		margin: data[nRows + r] ?? NaN,
		baseValue: v.baseValue
	};
	if (shapAt >= 0) {
		const shap: Record<string, number> = {};
		for (let i = 0; i < v.nFeatures; i++) shap[v.features[i] ?? ''] = data[shapAt + i] ?? NaN;
		score.shap = shap;
		if (decide) score.decision = v.policy.decide(probability, data, shapAt, valueOf(v, rows, row));
	}
	return score;
}

/** Settles a promise of a single {@link RowScore}. */
export class OneRowSink implements ResultSink {
	constructor(
		private readonly resolve: (s: RowScore) => void,
		private readonly reject: (e: Error) => void,
		private readonly rows: CallerRows,
		private readonly decide: boolean
	) {}

	deliver(
		v: ModelVersion,
		data: Float64Array,
		nRows: number,
		taskRow: number,
		_callerRow: number,
		_count: number,
		shapAt: number
	): void {
		this.resolve(rowScore(v, data, nRows, taskRow, shapAt, this.decide, this.rows, 0));
	}

	fail(error: Error): void {
		this.reject(error);
	}
}

/** Settles a promise of `RowScore[]` once every row is in. */
export class RowsSink implements ResultSink {
	private readonly out: RowScore[];
	private remaining: number;
	private settled = false;

	constructor(
		private readonly resolve: (s: RowScore[]) => void,
		private readonly reject: (e: Error) => void,
		private readonly rows: CallerRows,
		n: number,
		private readonly decide: boolean
	) {
		this.out = new Array<RowScore>(n);
		this.remaining = n;
	}

	deliver(
		v: ModelVersion,
		data: Float64Array,
		nRows: number,
		taskRow: number,
		callerRow: number,
		count: number,
		shapAt: number
	): void {
		if (this.settled) return;
		for (let k = 0; k < count; k++) {
			const row = callerRow + k;
			const at = shapAt < 0 ? -1 : shapAt + k * v.nFeatures;
			this.out[row] = rowScore(v, data, nRows, taskRow + k, at, this.decide, this.rows, row);
		}
		this.remaining -= count;
		if (this.remaining === 0) {
			this.settled = true;
			this.resolve(this.out);
		}
	}

	fail(error: Error): void {
		if (this.settled) return;
		this.settled = true;
		this.reject(error);
	}
}

/** Settles a promise of a {@link BatchScore}, writing rows straight into its arrays. */
export class BatchSink implements ResultSink {
	private readonly result: BatchScore;
	private remaining: number;
	private settled = false;

	constructor(
		private readonly resolve: (s: BatchScore) => void,
		private readonly reject: (e: Error) => void,
		private readonly rows: CallerRows,
		v: ModelVersion,
		n: number,
		options: ScoreOptions
	) {
		const explain = options.explain === true || options.decide === true;
		this.result = {
			model: v.id,
			version: v.version,
			rows: n,
			probability: new Float64Array(n),
			margin: new Float64Array(n),
			baseValue: v.baseValue,
			features: v.features,
			shap: explain ? new Float64Array(n * v.nFeatures) : null,
			decisions: options.decide === true ? new Array<Decision>(n) : null
		};
		this.remaining = n;
	}

	deliver(
		v: ModelVersion,
		data: Float64Array,
		nRows: number,
		taskRow: number,
		callerRow: number,
		count: number,
		shapAt: number
	): void {
		if (this.settled) return;
		const { probability, margin, shap, decisions } = this.result;
		probability.set(data.subarray(taskRow, taskRow + count), callerRow);
		margin.set(data.subarray(nRows + taskRow, nRows + taskRow + count), callerRow);
		if (shap !== null && shapAt >= 0) {
			shap.set(data.subarray(shapAt, shapAt + count * v.nFeatures), callerRow * v.nFeatures);
		}
		if (decisions !== null && shap !== null) {
			for (let k = 0; k < count; k++) {
				const row = callerRow + k;
				decisions[row] = v.policy.decide(
					probability[row] ?? NaN,
					shap,
					row * v.nFeatures,
					valueOf(v, this.rows, row)
				);
			}
		}
		this.remaining -= count;
		if (this.remaining === 0) {
			this.settled = true;
			this.result.baseValue = v.baseValue;
			this.resolve(this.result);
		}
	}

	fail(error: Error): void {
		if (this.settled) return;
		this.settled = true;
		this.reject(error);
	}
}
