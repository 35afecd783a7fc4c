/**
 * Credible's inference library: model bundles, the encoder and input schema, the worker pool with
 * micro-batching, exact SHAP, and the decision policy. Framework-free: nothing here knows
 * SvelteKit, tRPC or the database. onnxruntime is only loaded inside the pool's workers.
 */

// The bundle contract.
export * from './manifest';

// Bundles: loading, encoding, validation.
export { loadBundle, discoverBundles, readGolden, bundleKey, type LoadedBundle } from './bundle/load-bundle';
export { createEncoder, type Encoder } from './bundle/encoder';
export {
	buildApplicantSchema,
	type ApplicantSchema,
	type ApplicantSchemaOptions,
	type ApplicantValue
} from './bundle/applicant-schema';
export { readModelStructure, type ModelStructure } from './bundle/model-structure';
export { ensembleMargin, ensembleExpectedValue, type TreeEnsemble } from './bundle/onnx-trees';

// Explanations (the pool computes them in its workers; exported for tools and tests).
export {
	createExplainer,
	columnToFeature,
	TreeExplainer,
	LinearExplainer,
	type Explainer,
	type TreeExplainerOptions
} from './explain/explainer';

// Decisions.
export {
	createDecisionPolicy,
	scorePoints,
	riskBand,
	decisionFor,
	MAX_REASONS,
	type Decision,
	type DecisionOutcome,
	type DecisionPolicy,
	type ReasonCode,
	type Standing
} from './decision/policy';

// The pool.
export { InferencePool, type PoolOptions, type ModelInfo, type LoadOptions } from './pool/pool';
export type { ScoreOptions, RowScore, BatchScore } from './pool/sinks';
export type { PoolStats } from './pool/stats';
export { BATCH_SIZE_BOUNDS } from './pool/stats';
export type { TestModelSpec } from './pool/messages';
export { resolveWorkerPath, WORKER_PATH_ENV } from './pool/worker-path';

// Errors (each has a stable `code`).
export {
	InferenceError,
	BundleInvalid,
	ChecksumMismatch,
	UnsupportedModel,
	MissingCover,
	InvalidInput,
	type InferenceErrorCode
} from './errors';
export {
	Overloaded,
	InferenceTimeout,
	WorkerCrashed,
	ModelNotFound,
	ModelError,
	WorkerNotFound,
	PoolClosed
} from './pool/errors';
