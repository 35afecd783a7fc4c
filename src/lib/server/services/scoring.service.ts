/**
 * Scoring: validate an applicant against its model's manifest, run the model (with SHAP, which
 * every decision's reason codes need), apply the decision policy, record the prediction with group
 * commit, and only then answer. Used by the tRPC procedures, hence by REST, the portal and batches.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, gte, lt } from 'drizzle-orm';
import type { RawApplicant } from '$inference/manifest';
import { createDecisionPolicy, type Decision, type DecisionPolicy } from '$inference/decision/policy';
import { toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import type { Database } from '../db';
import { inSpanSync } from '../observability/tracing';
import { predictions, type Channel, type NewPrediction, type Prediction } from '../db/schema';
import { PredictionNotFound, ServiceUnavailable, ValidationFailed, DomainError } from '../errors';
import type { ModelRegistry, ModelVersion } from './models.service';
import { PersistenceError, type PredictionWriter } from './prediction-writer';
import { encodeShap, storedShap } from './stored-shap';

/** One row's model output: SHAP per raw feature in manifest order, in log-odds. */
export interface EngineRow {
	probability: number;
	margin: number;
	baseValue: number;
	shap: Float64Array;
}

/** What scoring needs from the inference pool. */
export interface ScoringEngine {
	run(version: ModelVersion, applicants: readonly RawApplicant[]): Promise<EngineRow[]>;
}

/** Who asks, through which door, under which request id. */
export interface Caller {
	principal: { kind: string; id: string };
	requestId: string;
	channel: Channel;
}

export interface Contribution {
	feature: string;
	label: string;
	value: number | string | null;
	shap: number;
}

export interface ScoreResult {
	predictionId: string;
	requestId: string;
	model: { id: string; version: string };
	probability: number;
	points: number;
	band: { name: string; label: string };
	decision: Decision['decision'];
	reasons: Decision['reasons'];
	explanation?: { baseValue: number; margin: number; contributions: Contribution[] };
	latencyMs: number;
	createdAt: string;
	/** True when this is the stored answer to an earlier call with the same idempotency key. */
	replayed: boolean;
}

/** An explanation: of a stored prediction, or of an applicant scored without being recorded (id null). */
export type Explanation = Omit<ScoreResult, 'predictionId'> & { predictionId: string | null };

export interface ScoreRequest {
	model: string;
	version?: string;
	applicant: Record<string, unknown>;
	explain?: boolean;
	/** Idempotency key: the same key from the same caller returns the stored result. */
	requestId?: string;
}

export interface BatchRequest {
	model: string;
	version?: string;
	/** Each checked on its own: a row that is not an applicant object gets its own field errors. */
	applicants: readonly unknown[];
	explain?: boolean;
	requestId?: string;
}

export type BatchRow =
	({ index: number; ok: true } & ScoreResult) | { index: number; ok: false; fieldErrors: FieldErrors };

export interface BatchResult {
	batchId: string;
	model: { id: string; version: string };
	summary: {
		rows: number;
		scored: number;
		rejected: number;
		approve: number;
		review: number;
		decline: number;
	};
	results: BatchRow[];
}

/** Where decisions are recorded: the group-commit writer (observed, see `observability/persistence.ts`). */
export type PredictionSink = Pick<PredictionWriter, 'write' | 'writeMany'>;

/**
 * Rows of a batch scored, assembled and handed to the writer together: the writer's default group
 * size, so that each chunk is one group commit, sent while later chunks are still in the workers.
 */
const BATCH_CHUNK_ROWS = 250;

/** Retry hint for a database that is down, in seconds. */
const DATABASE_RETRY_SECONDS = 2;

export class ScoringService {
	readonly #policies = new Map<string, DecisionPolicy>();

	constructor(
		private readonly db: Database,
		private readonly registry: ModelRegistry,
		private readonly engine: ScoringEngine,
		private readonly writer: PredictionSink
	) {}

	/** Scores one applicant and records the decision before returning it. */
	async score(caller: Caller, request: ScoreRequest): Promise<ScoreResult> {
		const started = performance.now();
		const version = this.registry.resolve(request.model, request.version);
		const applicant = this.#validate(version, request.applicant, 'applicant');
		const requester = requesterOf(caller);
		if (request.requestId) {
			const stored = await this.#findStored(requester, request.requestId);
			if (stored) return this.#replay(stored, version, applicant, request.explain === true);
		}
		const [row] = await this.#run(version, [applicant]);
		if (!row) throw new Error('the engine returned no row');
		const { prediction, result } = this.#assemble(caller, version, applicant, row, started, {
			idempotencyKey: request.requestId ?? null,
			explain: request.explain === true
		});
		const outcome = await this.#record(() => this.writer.write(prediction));
		if (outcome === 'duplicate' && request.requestId) {
			// Another call with the same key won the race; answer what it recorded.
			const stored = await this.#findStored(requester, request.requestId);
			if (stored) return this.#replay(stored, version, applicant, request.explain === true);
		}
		return result;
	}

	/** Scores many applicants; each row gets its result or its own field errors. */
	async scoreBatch(caller: Caller, request: BatchRequest): Promise<BatchResult> {
		const started = performance.now();
		const version = this.registry.resolve(request.model, request.version);
		const policy = this.#policy(version);
		const requester = requesterOf(caller);
		let batchId: string = randomUUID();
		const valid: { index: number; applicant: RawApplicant }[] = [];
		const results: BatchRow[] = new Array<BatchRow>(request.applicants.length);
		inSpanSync(
			'scoring.validate',
			{ 'credible.model': version.key, 'credible.rows': request.applicants.length },
			() =>
				request.applicants.forEach((raw, index) => {
					const parsed = parseApplicant(version, raw);
					if (parsed.success) valid.push({ index, applicant: parsed.data });
					else results[index] = { index, ok: false, fieldErrors: toFieldErrors(parsed.error.issues) };
				})
		);
		let pending = valid;
		if (request.requestId) {
			const stored = await this.#findStoredBatch(requester, request.requestId);
			if (stored.length > 0) {
				// A retry: answer what was recorded, and score the rows an interrupted call did not record.
				pending = this.#replayBatch(stored, version, request, results, valid);
				batchId = stored[0]?.batchId ?? batchId;
			}
		}
		// In chunks, so that the first rows are being written while the last are still scored.
		const chunks: Promise<void>[] = [];
		let failed = false;
		let previous: Promise<unknown> | undefined;
		for (let start = 0; start < pending.length && !failed; start += BATCH_CHUNK_ROWS) {
			// A turn of the event loop between chunks lets the pool send each to the workers on its
			// own, so that the first comes back (and goes to the database) while the next are scored.
			if (start > 0) {
				await new Promise((resolve) => setImmediate(resolve));
				if (failed) break;
			}
			const chunk = pending.slice(start, start + BATCH_CHUNK_ROWS);
			const scored = this.#run(
				version,
				chunk.map((v) => v.applicant),
				previous
			);
			previous = scored;
			const done = scored.then((rows) => {
				// One moment for the rows of a chunk: they were scored together.
				const now = new Date();
				const records: NewPrediction[] = [];
				chunk.forEach(({ index, applicant }, i) => {
					const row = rows[i];
					if (!row) throw new Error('the engine returned fewer rows than it was given');
					const { prediction, result } = this.#assemble(caller, version, applicant, row, started, {
						idempotencyKey: request.requestId ? `${request.requestId}/${index}` : null,
						explain: request.explain === true,
						batchId,
						policy,
						now
					});
					records.push(prediction);
					results[index] = { index, ok: true, ...result };
				});
				return this.#record(() => this.writer.writeMany(records)).then(() => undefined);
			});
			// Handled now: a chunk may fail (overload, database down) before the next turn, long
			// before `Promise.all` below looks at it, and must not count as an unhandled rejection.
			// Once one has failed the batch is answered with that error: no further chunk is sent.
			done.catch(() => {
				failed = true;
			});
			chunks.push(done);
		}
		// The batch is answered only once every chunk is recorded; any failure fails it (a retry with
		// the same requestId then scores only the rows that were not recorded).
		await Promise.all(chunks);
		return { batchId, model: modelOf(version), summary: summarise(results), results };
	}

	/** The full explanation of a stored prediction. */
	async explainStored(caller: Caller & { mayReadAll: boolean }, predictionId: string): Promise<ScoreResult> {
		const [stored] = await this.db
			.select()
			.from(predictions)
			.where(eq(predictions.id, predictionId))
			.limit(1);
		// A scorer may only read its own predictions; saying "not found" leaks nothing about others'.
		if (!stored || (!caller.mayReadAll && stored.requester !== requesterOf(caller))) {
			throw new PredictionNotFound(`No prediction ${predictionId}.`);
		}
		const version = this.registry.resolve(stored.modelId, stored.modelVersion);
		return storedResult(stored, version, true, false);
	}

	/** Scores without recording (what-if); the caller sees the explanation. */
	async explainApplicant(caller: Caller, request: ScoreRequest): Promise<Explanation> {
		const started = performance.now();
		const version = this.registry.resolve(request.model, request.version);
		const applicant = this.#validate(version, request.applicant, 'applicant');
		const [row] = await this.#run(version, [applicant]);
		if (!row) throw new Error('the engine returned no row');
		const { result } = this.#assemble(caller, version, applicant, row, started, {
			idempotencyKey: null,
			explain: true
		});
		return { ...result, predictionId: null };
	}

	#policy(version: ModelVersion): DecisionPolicy {
		let policy = this.#policies.get(version.key);
		if (!policy) {
			policy = createDecisionPolicy(version.manifest);
			this.#policies.set(version.key, policy);
		}
		return policy;
	}

	#validate(version: ModelVersion, raw: Record<string, unknown>, prefix: string): RawApplicant {
		return inSpanSync('scoring.validate', { 'credible.model': version.key }, () => {
			const parsed = parseApplicant(version, raw);
			if (parsed.success) return parsed.data;
			const errors = toFieldErrors(
				parsed.error.issues.map((issue) => ({ ...issue, path: [prefix, ...issue.path] }))
			);
			throw new ValidationFailed(errors);
		});
	}

	/**
	 * Runs the model. `drained`, given for a chunk of a batch after the first, makes a full queue wait
	 * for the chunk before it and ask once more: the batch was admitted with its first chunk, its own
	 * earlier rows are what fill the queue, and it must not be refused halfway while they drain.
	 */
	async #run(
		version: ModelVersion,
		applicants: readonly RawApplicant[],
		drained?: Promise<unknown>
	): Promise<EngineRow[]> {
		try {
			return await this.engine.run(version, applicants);
		} catch (error) {
			if (drained && (error as { code?: unknown } | null)?.code === 'OVERLOADED') {
				await drained.catch(() => undefined);
				return this.#run(version, applicants);
			}
			throw asUnavailable(error) ?? error;
		}
	}

	async #record<T>(write: () => Promise<T>): Promise<T> {
		try {
			return await write();
		} catch (error) {
			if (error instanceof PersistenceError) {
				// No unrecorded decisions: without the database there is no answer, only a retry hint.
				throw new ServiceUnavailable(error.message, DATABASE_RETRY_SECONDS, { cause: error });
			}
			throw error;
		}
	}

	#assemble(
		caller: Caller,
		version: ModelVersion,
		applicant: RawApplicant,
		row: EngineRow,
		started: number,
		options: {
			idempotencyKey: string | null;
			explain: boolean;
			batchId?: string;
			policy?: DecisionPolicy;
			/** When the decision is made (default: now). */
			now?: Date;
		}
	): { prediction: NewPrediction; result: ScoreResult } {
		const { manifest } = version;
		const features = manifest.features;
		const decision = (options.policy ?? this.#policy(version)).decide(row.probability, row.shap, 0, (i) => {
			return applicant[features[i]?.name ?? ''] ?? null;
		});
		const id = randomUUID();
		const createdAt = options.now ?? new Date();
		const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
		const prediction: NewPrediction = {
			id,
			createdAt,
			modelId: manifest.model.id,
			modelVersion: manifest.model.version,
			requestId: caller.requestId,
			idempotencyKey: options.idempotencyKey,
			requester: requesterOf(caller),
			channel: caller.channel,
			batchId: options.batchId ?? null,
			input: applicant,
			probability: row.probability,
			margin: row.margin,
			points: decision.points,
			band: decision.band.name,
			decision: decision.decision,
			reasons: decision.reasons.map(({ feature, code, text, contribution }) => ({
				feature,
				code,
				text,
				contribution
			})),
			shapValues: encodeShap(row.shap),
			baseValue: row.baseValue,
			latencyMs
		};
		const result: ScoreResult = {
			predictionId: id,
			requestId: caller.requestId,
			model: modelOf(version),
			probability: row.probability,
			points: decision.points,
			band: decision.band,
			decision: decision.decision,
			reasons: decision.reasons,
			explanation: options.explain
				? explanationOf(version, applicant, shapByFeature(version, row.shap), row.baseValue, row.margin)
				: undefined,
			latencyMs,
			createdAt: isoString(createdAt),
			replayed: false
		};
		return { prediction, result };
	}

	async #findStored(requester: string, key: string): Promise<Prediction | undefined> {
		const [stored] = await this.db
			.select()
			.from(predictions)
			.where(and(eq(predictions.requester, requester), eq(predictions.idempotencyKey, key)))
			.limit(1);
		return stored;
	}

	async #findStoredBatch(requester: string, key: string): Promise<Prediction[]> {
		// Batch rows are keyed `<key>/<index>`; '0' sorts right after '/', so this is a range scan.
		return this.db
			.select()
			.from(predictions)
			.where(
				and(
					eq(predictions.requester, requester),
					gte(predictions.idempotencyKey, `${key}/`),
					lt(predictions.idempotencyKey, `${key}0`)
				)
			);
	}

	#replay(stored: Prediction, version: ModelVersion, applicant: RawApplicant, explain: boolean): ScoreResult {
		if (stored.modelId !== version.manifest.model.id || !sameApplicant(stored.input, applicant)) {
			throw new ValidationFailed(
				{ requestId: ['This idempotency key was already used for a different request.'] },
				'Idempotency key reused with a different request.'
			);
		}
		return storedResult(stored, version, explain, true);
	}

	/**
	 * Fills `results` with the stored answers of an earlier call under the same key and returns the
	 * valid rows it did not record (a call cut off between two group commits), to be scored now.
	 */
	#replayBatch(
		stored: Prediction[],
		version: ModelVersion,
		request: BatchRequest,
		results: BatchRow[],
		valid: { index: number; applicant: RawApplicant }[]
	): { index: number; applicant: RawApplicant }[] {
		const byIndex = new Map(stored.map((p) => [Number(p.idempotencyKey?.split('/').pop()), p]));
		const validIndexes = new Set(valid.map(({ index }) => index));
		const reused = (): ValidationFailed =>
			new ValidationFailed(
				{ requestId: ['This idempotency key was already used for a different batch.'] },
				'Idempotency key reused with a different batch.'
			);
		if ([...byIndex.keys()].some((index) => !validIndexes.has(index))) throw reused();
		const missing: { index: number; applicant: RawApplicant }[] = [];
		for (const { index, applicant } of valid) {
			const prediction = byIndex.get(index);
			if (!prediction) {
				missing.push({ index, applicant });
				continue;
			}
			if (prediction.modelId !== version.manifest.model.id || !sameApplicant(prediction.input, applicant)) {
				throw reused();
			}
			results[index] = {
				index,
				ok: true,
				...storedResult(prediction, version, request.explain === true, true)
			};
		}
		return missing;
	}
}

/** Validates an applicant: the compiled check first (the hot path), the schema to name what is wrong. */
function parseApplicant(
	version: ModelVersion,
	raw: unknown
): { success: true; data: RawApplicant } | ReturnType<ModelVersion['applicantSchema']['safeParse']> {
	const checked = version.checkApplicant(raw);
	return checked ? { success: true, data: checked } : version.applicantSchema.safeParse(raw);
}

function requesterOf(caller: Pick<Caller, 'principal'>): string {
	return `${caller.principal.kind}:${caller.principal.id}`;
}

const models = new WeakMap<ModelVersion, { id: string; version: string }>();

/** A version's `{ id, version }`, one object per version that every result shares. */
function modelOf(version: ModelVersion): { id: string; version: string } {
	let model = models.get(version);
	if (!model) {
		model = { id: version.manifest.model.id, version: version.manifest.model.version };
		models.set(version, model);
	}
	return model;
}

let lastDate = Number.NaN;
let lastIso = '';

/** `toISOString`, remembered for the last instant: the rows of a batch chunk share theirs. */
function isoString(date: Date): string {
	const time = date.getTime();
	if (time !== lastDate) {
		lastIso = date.toISOString();
		lastDate = time;
	}
	return lastIso;
}

function sameApplicant(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
	const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
	for (const key of keys) if ((a[key] ?? null) !== (b[key] ?? null)) return false;
	return true;
}

function shapByFeature(version: ModelVersion, values: Float64Array): Record<string, number> {
	const shap: Record<string, number> = {};
	version.manifest.features.forEach((feature, i) => (shap[feature.name] = values[i] ?? 0));
	return shap;
}

function explanationOf(
	version: ModelVersion,
	applicant: Record<string, unknown>,
	shap: Record<string, number>,
	baseValue: number,
	margin: number
): NonNullable<ScoreResult['explanation']> {
	const contributions = version.manifest.features
		.map((feature) => ({
			feature: feature.name,
			label: feature.label,
			value: (applicant[feature.name] ?? null) as number | string | null,
			shap: shap[feature.name] ?? 0
		}))
		.sort((a, b) => Math.abs(b.shap) - Math.abs(a.shap));
	return { baseValue, margin, contributions };
}

function storedResult(
	stored: Prediction,
	version: ModelVersion,
	explain: boolean,
	replayed: boolean
): ScoreResult {
	const band = version.manifest.policy.bands.find((b) => b.name === stored.band);
	const shap = explain ? storedShap(stored) : null;
	const valueOf = (feature: string) => stored.input[feature] ?? null;
	return {
		predictionId: stored.id,
		requestId: stored.requestId,
		model: { id: stored.modelId, version: stored.modelVersion },
		probability: stored.probability,
		points: stored.points,
		band: { name: stored.band, label: band?.label ?? stored.band },
		decision: stored.decision,
		reasons: stored.reasons.map((reason) => ({ ...reason, value: valueOf(reason.feature) })),
		explanation: shap
			? explanationOf(version, stored.input, shap, stored.baseValue ?? 0, stored.margin)
			: undefined,
		latencyMs: stored.latencyMs,
		createdAt: stored.createdAt.toISOString(),
		replayed
	};
}

function summarise(results: BatchRow[]): BatchResult['summary'] {
	const summary = { rows: results.length, scored: 0, rejected: 0, approve: 0, review: 0, decline: 0 };
	for (const row of results) {
		if (row.ok) {
			summary.scored += 1;
			summary[row.decision] += 1;
		} else {
			summary.rejected += 1;
		}
	}
	return summary;
}

/** Inference errors that mean "try again shortly" become a 503 with a retry hint. */
function asUnavailable(error: unknown): ServiceUnavailable | undefined {
	if (error instanceof DomainError) return undefined;
	const code = (error as { code?: unknown } | null)?.code;
	const retry = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
	switch (code) {
		case 'OVERLOADED':
			return new ServiceUnavailable(
				'The scoring service is at capacity; retry shortly.',
				typeof retry === 'number' ? retry : 1,
				{
					cause: error
				}
			);
		case 'INFERENCE_TIMEOUT':
		case 'WORKER_CRASHED':
		case 'POOL_CLOSED':
			return new ServiceUnavailable('The scoring service could not complete the request; retry shortly.', 1, {
				cause: error
			});
		default:
			return undefined;
	}
}
