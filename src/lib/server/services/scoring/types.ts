/** The scoring use case's contracts: what callers send, what they get back, what it needs. */
import type { RawApplicant } from '$inference/manifest';
import type { Decision } from '$inference/decision/policy';
import type { FieldErrors } from '$lib/validation/field-errors';
import type { Channel } from '../../db/schema';
import type { ModelVersion } from '../models.service';
import type { PredictionWriter } from '../prediction-writer';

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
	/** The caller's reference of the application, when given. */
	applicationId: string | null;
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

/** An explanation with what it was computed from: the model version and the applicant's raw values. */
export interface Explained {
	result: Explanation;
	version: ModelVersion;
	applicant: RawApplicant;
}

export interface ScoreRequest {
	model: string;
	version?: string;
	/** Checked against the model's schema here (an object of feature values). */
	applicant: unknown;
	applicationId?: string;
	explain?: boolean;
	/** Idempotency key: the same key from the same caller returns the stored result. */
	requestId?: string;
}

export interface BatchRequest {
	model: string;
	version?: string;
	/** Each checked on its own: a row that is not an applicant object gets its own field errors. */
	applicants: readonly unknown[];
	/** The reference of each applicant, in the same order (null where there is none). */
	applicationIds?: readonly (string | null)[];
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
