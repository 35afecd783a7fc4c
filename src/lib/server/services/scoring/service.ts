/**
 * Scoring: validate an applicant against its model's manifest, run the model (with SHAP, which
 * every decision's reason codes need), apply the decision policy, record the prediction with group
 * commit, and only then answer. Used by the tRPC procedures, hence by REST, the portal and batches.
 */
import { eq } from 'drizzle-orm';
import { createDecisionPolicy, type DecisionPolicy } from '$inference/decision/policy';
import type { Database } from '../../db';
import { predictions } from '../../db/schema';
import { DomainError, PredictionNotFound, ServiceUnavailable } from '../../errors';
import { emitScoring } from '../../observability/request-events';
import type { ModelRegistry, ModelVersion } from '../models.service';
import { scoreBatch } from './batch';
import { requesterOf } from './explanation';
import { recorded, runModel } from './failures';
import { findStored, replay } from './replay';
import { assembleRow } from './row';
import { storedResult } from './stored';
import type {
	BatchRequest,
	BatchResult,
	Caller,
	Explained,
	PredictionSink,
	ScoreRequest,
	ScoreResult,
	ScoringEngine
} from './types';
import { validateApplicant } from './validation';

export class ScoringService {
	readonly #policies = new Map<string, DecisionPolicy>();

	constructor(
		private readonly db: Database,
		private readonly registry: ModelRegistry,
		private readonly engine: ScoringEngine,
		private readonly writer: PredictionSink
	) {}

	/**
	 * Scores one applicant and records the decision before returning it; publishes the call's
	 * outcome for the version that answered (a scoring event, see `request-events.ts`).
	 */
	async score(caller: Caller, request: ScoreRequest): Promise<ScoreResult> {
		const started = performance.now();
		const version = this.registry.resolve(request.model, request.version);
		let status = 200;
		try {
			return await this.#score(caller, request, version, started);
		} catch (error) {
			status = statusOf(error);
			throw error;
		} finally {
			emitScoring({ model: version.key, status, durationMs: performance.now() - started, at: Date.now() });
		}
	}

	async #score(
		caller: Caller,
		request: ScoreRequest,
		version: ModelVersion,
		started: number
	): Promise<ScoreResult> {
		const applicant = validateApplicant(version, request.applicant, 'applicant');
		const explain = request.explain === true;
		const requester = requesterOf(caller);
		if (request.requestId) {
			const stored = await findStored(this.db, requester, request.requestId);
			if (stored)
				return replay(
					stored,
					version,
					applicant,
					request.applicationId ?? null,
					explain,
					request.version !== undefined
				);
		}
		const [row] = await runModel(this.engine, version, [applicant]);
		if (!row) throw new Error('the engine returned no row');
		const { prediction, result } = assembleRow(
			caller,
			version,
			this.#policy(version),
			applicant,
			row,
			started,
			{
				idempotencyKey: request.requestId ?? null,
				applicationId: request.applicationId ?? null,
				explain
			}
		);
		const outcome = await recorded(() => this.writer.write(prediction));
		if (outcome === 'duplicate' && request.requestId) {
			// Another call with the same key won the race; answer what it recorded.
			const stored = await findStored(this.db, requester, request.requestId);
			if (stored)
				return replay(
					stored,
					version,
					applicant,
					request.applicationId ?? null,
					explain,
					request.version !== undefined
				);
		}
		return result;
	}

	/** Scores many applicants; each row gets its result or its own field errors (see `batch.ts`). */
	scoreBatch(caller: Caller, request: BatchRequest): Promise<BatchResult> {
		return scoreBatch(
			{
				db: this.db,
				registry: this.registry,
				engine: this.engine,
				writer: this.writer,
				policy: (version) => this.#policy(version)
			},
			caller,
			request
		);
	}

	/** The full explanation of a stored prediction. */
	async explainStored(caller: Caller & { mayReadAll: boolean }, predictionId: string): Promise<Explained> {
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
		return { result: storedResult(stored, version, true, false), version, applicant: stored.input };
	}

	/** Scores without recording (what-if); the caller sees the explanation. */
	async explainApplicant(caller: Caller, request: ScoreRequest): Promise<Explained> {
		const started = performance.now();
		const version = this.registry.resolve(request.model, request.version);
		const applicant = validateApplicant(version, request.applicant, 'applicant');
		const [row] = await runModel(this.engine, version, [applicant]);
		if (!row) throw new Error('the engine returned no row');
		const { result } = assembleRow(caller, version, this.#policy(version), applicant, row, started, {
			idempotencyKey: null,
			explain: true
		});
		return { result: { ...result, predictionId: null }, version, applicant };
	}

	#policy(version: ModelVersion): DecisionPolicy {
		let policy = this.#policies.get(version.key);
		if (!policy) {
			policy = createDecisionPolicy(version.manifest);
			this.#policies.set(version.key, policy);
		}
		return policy;
	}
}

/** The HTTP status a failed scoring call maps to: 503 when overloaded, 4xx when refused, else 500. */
function statusOf(error: unknown): number {
	if (error instanceof ServiceUnavailable) return 503;
	if (error instanceof DomainError) return 400;
	return 500;
}
