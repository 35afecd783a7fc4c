/**
 * Models for the pool's own tests (MLServer keeps an `ErrorModel` and a `SlowModel` for the same
 * reason): they make a worker fail in each way the pool must survive. A worker accepts them only
 * when the pool was started with `testModels: true`, so production never loads them.
 *
 * All of them compute the same answer when they behave: margin = Σ of the row's columns, SHAP per
 * raw feature = the sum of its columns, base value 0. A test can then check that each caller got
 * its own rows back.
 */
import type { Manifest } from '../manifest';
import type { TestModelSpec } from '../pool/messages';
import { columnToFeature } from '../explain/explainer';
import { countExplained, type InferenceModel, type PredictInput } from './model';

/** Answers Σ columns; the base of the misbehaving models below. */
export class EchoModel implements InferenceModel {
	readonly baseValue = 0;
	private readonly out: Int32Array;
	private readonly nCols: number;
	private readonly nFeatures: number;

	constructor(
		manifest: Manifest,
		protected readonly spec: TestModelSpec
	) {
		this.out = columnToFeature(manifest);
		this.nCols = manifest.input.columns.length;
		this.nFeatures = manifest.features.length;
	}

	async load(): Promise<void> {}

	async predict(input: PredictInput): Promise<Float64Array> {
		if (this.shouldMisbehave()) await this.misbehave();
		return this.echo(input);
	}

	async unload(): Promise<void> {}

	/** Consumes one fault from the shared counter, if the test set one. */
	private shouldMisbehave(): boolean {
		const faults = this.spec.faults;
		if (faults === undefined) return true;
		return Atomics.sub(faults, 0, 1) > 0;
	}

	protected misbehave(): Promise<void> {
		return Promise.resolve();
	}

	private echo({ rows, nRows, explain }: PredictInput): Float64Array {
		const { nCols, nFeatures, out } = this;
		const data = new Float64Array(2 * nRows + countExplained({ rows, nRows, explain }) * nFeatures);
		let at = 2 * nRows;
		for (let r = 0; r < nRows; r++) {
			let margin = 0;
			for (let c = 0; c < nCols; c++) margin += rows[r * nCols + c] ?? 0;
			data[r] = 1 / (1 + Math.exp(-margin));
			data[nRows + r] = margin;
			if (explain?.[r] !== 1) continue;
			for (let c = 0; c < nCols; c++) data[at + (out[c] ?? 0)]! += rows[r * nCols + c] ?? 0;
			at += nFeatures;
		}
		return data;
	}
}

/** Throws from predict: the error must reach the caller by name, without a stack. */
export class ErrorModel extends EchoModel {
	protected override misbehave(): Promise<void> {
		const e = new Error('ErrorModel always fails');
		e.name = 'ErrorModelFailure';
		return Promise.reject(e);
	}
}

/** Sleeps `delayMs` before answering: fills the queue for overload and drain tests. */
export class SlowModel extends EchoModel {
	protected override async misbehave(): Promise<void> {
		await new Promise((resolve) => setTimeout(resolve, this.spec.delayMs ?? 100));
	}
}

/** Kills its worker thread mid-batch, like a native crash would. */
export class CrashModel extends EchoModel {
	protected override misbehave(): Promise<void> {
		process.exit(3);
	}
}

/** Blocks its worker's thread forever: only termination ends it. */
export class HangModel extends EchoModel {
	protected override misbehave(): Promise<void> {
		const spin = (): boolean => true;
		while (spin()) {
			// Busy on purpose: a hung native call looks like this to the pool.
		}
		return Promise.resolve();
	}
}

/** The test model for a spec. */
export function createTestModel(manifest: Manifest, spec: TestModelSpec): InferenceModel {
	switch (spec.behaviour) {
		case 'echo':
			return new EchoModel(manifest, { ...spec, faults: new Int32Array(1) });
		case 'error':
			return new ErrorModel(manifest, spec);
		case 'slow':
			return new SlowModel(manifest, spec);
		case 'crash':
			return new CrashModel(manifest, spec);
		case 'hang':
			return new HangModel(manifest, spec);
	}
}
