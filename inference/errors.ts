/**
 * Domain errors of the inference library. Each is a small named class with a stable `code`, so the
 * API maps them to HTTP statuses in one place (e.g. `OVERLOADED` → 503) without matching messages.
 * Errors that cross the worker boundary are rebuilt from `{ name, message, code }` only (see
 * `pool/errors.ts`): a worker's stack never reaches a caller.
 */

/** Every error code the library can raise. */
export type InferenceErrorCode =
	| 'BUNDLE_INVALID'
	| 'CHECKSUM_MISMATCH'
	| 'UNSUPPORTED_MODEL'
	| 'MISSING_COVER'
	| 'INVALID_INPUT'
	| 'MODEL_NOT_FOUND'
	| 'MODEL_ERROR'
	| 'OVERLOADED'
	| 'INFERENCE_TIMEOUT'
	| 'WORKER_CRASHED'
	| 'WORKER_NOT_FOUND'
	| 'POOL_CLOSED';

/** Base class: `name` is the class name, `code` is stable and machine-readable. */
export abstract class InferenceError extends Error {
	abstract readonly code: InferenceErrorCode;
	constructor(message: string) {
		super(message);
		this.name = new.target.name;
	}
}

/** A bundle's manifest, golden file or layout breaks the contract. Names the bundle and the field. */
export class BundleInvalid extends InferenceError {
	readonly code = 'BUNDLE_INVALID';
	constructor(
		readonly bundle: string,
		readonly field: string,
		detail: string
	) {
		super(`bundle ${bundle}: ${field}: ${detail}`);
	}
}

/** `model.onnx` does not have the SHA-256 the manifest promises. */
export class ChecksumMismatch extends InferenceError {
	readonly code = 'CHECKSUM_MISMATCH';
	readonly field = 'file.sha256';
	constructor(
		readonly bundle: string,
		expected: string,
		actual: string
	) {
		super(`bundle ${bundle}: file.sha256: model.onnx has SHA-256 ${actual}, manifest says ${expected}`);
	}
}

/** The ONNX graph is not one of the layouts Credible can serve and explain exactly. */
export class UnsupportedModel extends InferenceError {
	readonly code = 'UNSUPPORTED_MODEL';
}

/**
 * A tree model carries no usable node cover (`nodes_hitrates`): path-dependent TreeSHAP would be
 * wrong, so loading stops instead of serving made-up explanations.
 */
export class MissingCover extends InferenceError {
	readonly code = 'MISSING_COVER';
}

/** A raw applicant cannot be encoded (unknown category, wrong type). Names the field. */
export class InvalidInput extends InferenceError {
	readonly code = 'INVALID_INPUT';
	constructor(
		readonly field: string,
		detail: string
	) {
		super(`${field}: ${detail}`);
	}
}
