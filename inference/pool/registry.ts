/**
 * The model versions the pool serves, and which version each model id currently points at. The
 * switch of a model id to a new version is one Map assignment on the main thread: a request
 * resolves its version once, on admission, and keeps it until answered — so a hot reload never
 * sends half a request to each version.
 */
import { bundleKey } from '../bundle/load-bundle';
import { createEncoder, type Encoder } from '../bundle/encoder';
import { createDecisionPolicy, type DecisionPolicy } from '../decision/policy';
import type { Manifest } from '../manifest';
import { maxRowsPerSlot } from './channel';
import { ModelNotFound } from './errors';
import type { LoadSpec } from './messages';

/** One loaded (or loading, or retiring) model version. */
export class ModelVersion {
	readonly key: string;
	readonly id: string;
	readonly version: string;
	readonly encoder: Encoder;
	readonly policy: DecisionPolicy;
	readonly features: readonly string[];
	readonly nCols: number;
	readonly nFeatures: number;
	/** Most rows of one task: what fits in a slot of a worker's ring. */
	readonly maxTaskRows: number;
	/** Expected margin, reported by the workers once loaded. */
	baseValue = NaN;
	/** `loading` takes no requests yet; `retiring` takes none any more and unloads when drained. */
	state: 'loading' | 'ready' | 'retiring' = 'loading';
	/** Rows admitted and not yet answered (queued, batching or in a worker). */
	pendingRows = 0;
	/** Size of the last batch, to size the next one's buffer. */
	lastBatchRows = 1;
	/** One-row scratch for encoding a raw applicant before it is copied into a batch. */
	readonly scratch: Float32Array;
	/** Row buffers of answered tasks, for the next batches (a batch per event-loop turn is garbage otherwise). */
	private readonly spareRows: Float32Array[] = [];

	constructor(
		readonly manifest: Manifest,
		readonly spec: LoadSpec
	) {
		this.id = manifest.model.id;
		this.version = manifest.model.version;
		this.key = bundleKey(this.id, this.version);
		this.encoder = createEncoder(manifest);
		this.policy = createDecisionPolicy(manifest);
		this.features = this.encoder.features;
		this.nCols = this.encoder.columns;
		this.nFeatures = this.features.length;
		this.maxTaskRows = maxRowsPerSlot(this.nCols, this.nFeatures);
		this.scratch = new Float32Array(this.nCols);
	}

	/** A row buffer of at least `length` floats, reused when one is spare. */
	takeRows(length: number): Float32Array {
		const spare = this.spareRows.pop();
		if (spare !== undefined && spare.length >= length && spare.length <= 4 * length) return spare;
		return new Float32Array(length);
	}

	/** Returns the row buffer of a task that is answered for good. */
	giveRows(rows: Float32Array): void {
		if (this.spareRows.length < SPARE_ROW_BUFFERS) this.spareRows.push(rows);
	}
}

/** Row buffers kept per version: about the batches in flight at once. */
const SPARE_ROW_BUFFERS = 8;

/** Versions by key, and the active version of each model id. Main thread only. */
export class ModelRegistry {
	private readonly versions = new Map<string, ModelVersion>();
	private readonly active = new Map<string, ModelVersion>();

	add(v: ModelVersion): void {
		if (this.versions.has(v.key)) throw new Error(`model ${v.key} is already loaded`);
		this.versions.set(v.key, v);
	}

	remove(v: ModelVersion): void {
		this.versions.delete(v.key);
		if (this.active.get(v.id) === v) this.active.delete(v.id);
	}

	get(key: string): ModelVersion | undefined {
		return this.versions.get(key);
	}

	/**
	 * `<id>` → the active version; `<id>@<version>` → that version, if it takes requests.
	 * @throws {ModelNotFound}
	 */
	resolve(ref: string): ModelVersion {
		const v = ref.includes('@') ? this.versions.get(ref) : this.active.get(ref);
		if (v === undefined || v.state !== 'ready') throw new ModelNotFound(`no model "${ref}" is being served`);
		return v;
	}

	/** Points `v.id` at `v`; returns the version it pointed at before. */
	activate(v: ModelVersion): ModelVersion | undefined {
		const before = this.active.get(v.id);
		this.active.set(v.id, v);
		return before;
	}

	activeOf(id: string): ModelVersion | undefined {
		return this.active.get(id);
	}

	all(): ModelVersion[] {
		return [...this.versions.values()];
	}

	/** What a new worker must load: every version still registered, retiring ones included. */
	specs(): LoadSpec[] {
		return this.all().map((v) => v.spec);
	}
}
