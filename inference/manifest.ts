/**
 * The model-bundle manifest: the contract between the offline training script and everything in
 * Credible that serves, explains, validates or monitors a model. The portal's form, the API's input
 * schema, the encoder, the explainer, the decision policy and the reference distributions are all read from
 * here, so a new model needs no code.
 *
 * A bundle is a folder `models/<model-id>/<version>/` holding `model.onnx`, `manifest.json`,
 * `golden.jsonl` and `MODEL_CARD.md`.
 */
import { z } from 'zod';

const finite = z.number().finite();
const probability = finite.min(0).max(1);

/** How a raw feature becomes columns of the model's input tensor. Missing always becomes NaN. */
export const encodingSchema = z.discriminatedUnion('kind', [
	/** The raw number goes to one column as float32; missing → NaN. */
	z.object({ kind: z.literal('passthrough'), column: z.number().int().min(0) }),
	/**
	 * One column per category: 1 for the applicant's category, 0 for the others; missing → NaN in
	 * every column of the feature (tree models then follow their learned default direction).
	 */
	z.object({
		kind: z.literal('one_hot'),
		columns: z.record(z.string(), z.number().int().min(0))
	}),
	/** One column holding the category's code; missing → NaN. */
	z.object({
		kind: z.literal('ordinal'),
		column: z.number().int().min(0),
		codes: z.record(z.string(), finite)
	})
]);
export type Encoding = z.infer<typeof encodingSchema>;

const numericReference = z.object({
	kind: z.literal('numeric'),
	/** Bin edges, ascending, length = proportions.length + 1; first is -Infinity-like (the min). */
	edges: z.array(finite).min(2),
	/** Share of non-missing training rows in each bin; sums to 1. */
	proportions: z.array(probability).min(1),
	missingRate: probability,
	mean: finite,
	quantiles: z.object({ p05: finite, p25: finite, p50: finite, p75: finite, p95: finite })
});
const categoricalReference = z.object({
	kind: z.literal('categorical'),
	/** Share of non-missing training rows per category; sums to 1. */
	frequencies: z.record(z.string(), probability),
	missingRate: probability
});
/** A numeric feature's training distribution: decile bins, each holding `proportions[i]` of the rows. */
export type NumericReference = z.infer<typeof numericReference>;
/** A categorical or ordinal feature's training distribution. */
export type CategoricalReference = z.infer<typeof categoricalReference>;

export const featureSchema = z.object({
	/** Column name in the CSV and key in the API's JSON body. */
	name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
	label: z.string().min(1),
	description: z.string().min(1),
	type: z.enum(['numeric', 'categorical', 'ordinal']),
	unit: z.string().nullable(),
	/** Numeric features: the valid range, inclusive; values outside are rejected at validation. */
	range: z.object({ min: finite, max: finite }).nullable(),
	/** Numeric features: whole numbers only. */
	integer: z.boolean(),
	/** Categorical/ordinal: allowed values (ordinal: in order, lowest risk meaning not implied). */
	categories: z.array(z.string()).nullable(),
	/** Human labels for categories, for the portal's selects. */
	categoryLabels: z.record(z.string(), z.string()).nullable(),
	/** Whether the applicant may leave it unknown (null in JSON, empty in CSV). */
	missingAllowed: z.boolean(),
	/**
	 * How the risk of default moves as the value rises, where credit logic expects one direction:
	 * `increasing` (e.g. debt-to-income), `decreasing` (e.g. income), or null (no declared
	 * direction). Numeric and ordinal features only (ordinal: in the order of `categories`);
	 * training enforces it as a monotone constraint and reason wording relies on it.
	 */
	riskDirection: z.enum(['increasing', 'decreasing']).nullable().default(null),
	/** Whether an applicant can realistically change it; true exactly when `change` is set. */
	actionable: z.boolean(),
	/**
	 * How an applicant could change it, which bounds counterfactual suggestions: `increase` or
	 * `decrease` only, or `either`; `values`, when set, are the only values on offer (a term, a
	 * category). Null: the applicant cannot change it (age, credit history, the lender's grade).
	 */
	change: z
		.object({
			direction: z.enum(['increase', 'decrease', 'either']),
			values: z
				.array(z.union([finite, z.string()]))
				.min(1)
				.nullable()
		})
		.nullable(),
	encoding: encodingSchema,
	/** Adverse-action reason for this feature: short code and text shown when it pushes risk up. */
	reason: z.object({ code: z.string().min(1), text: z.string().min(1) })
});
export type Feature = z.infer<typeof featureSchema>;

const calibrationBin = z.object({
	meanPredicted: probability,
	observedRate: probability,
	count: z.number().int().min(0)
});

export const metricsSchema = z.object({
	auc: probability,
	gini: finite.min(-1).max(1),
	ks: probability,
	brier: probability,
	logLoss: finite.min(0),
	/** Ten bins by predicted probability (deciles). */
	calibration: z.array(calibrationBin).min(1)
});

export const policySchema = z.object({
	/** Cost of each error, in units of "one wrongly refused good loan". */
	costMatrix: z.object({ missedDefault: finite.positive(), refusedGood: finite.positive() }),
	/** approve when p < approveBelow; decline when p >= declineAtOrAbove; review in between. */
	cutoffs: z.object({ approveBelow: probability, declineAtOrAbove: probability }),
	/** Holdout outcome of the cut-offs (review counted as approve for cost). */
	expectedCost: z.object({
		perApplicant: finite.min(0),
		approvalRate: probability,
		reviewRate: probability,
		declineRate: probability,
		badRateAmongApproved: probability
	}),
	/** PDO scaling: points = offset + factor × ln(odds good:bad), factor = pdo / ln 2. */
	scaling: z.object({ basePoints: finite, baseOdds: finite.positive(), pdo: finite.positive() }),
	/** Risk bands by probability of default, ascending maxProbability; the last has 1. */
	bands: z.array(z.object({ name: z.string().min(1), maxProbability: probability, label: z.string() })).min(1)
});
export type Policy = z.infer<typeof policySchema>;

export const manifestSchema = z.object({
	schemaVersion: z.literal(1),
	model: z.object({
		/** Product line / model family, e.g. `lending-club`: the `{model}` of the API's URLs. */
		id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
		/** e.g. `xgb-1.0.0`. */
		version: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
		name: z.string().min(1),
		description: z.string().min(1),
		/** `tree_ensemble`: SHAP by TreeSHAP over the ONNX trees; `linear`: exact linear SHAP. */
		kind: z.enum(['tree_ensemble', 'linear']),
		framework: z.string().min(1),
		createdAt: z.string().min(1)
	}),
	file: z.object({ path: z.literal('model.onnx'), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
	input: z.object({
		/** Name of the single float32 input tensor, shape [N, columns.length]. */
		name: z.string().min(1),
		/** Names of the tensor's columns, in order (e.g. `term=term_60` for a one-hot column). */
		columns: z.array(z.string().min(1)).min(1)
	}),
	output: z.object({
		/** Output tensor with P(bad), shape [N, 1] (or [N]). */
		probability: z.string().min(1),
		/** Output tensor with the log-odds margin, shape [N, 1] (or [N]). */
		margin: z.string().min(1)
	}),
	features: z.array(featureSchema).min(1),
	target: z.object({ name: z.string(), positive: z.string(), definition: z.string().min(1) }),
	training: z.object({
		dataset: z.string().min(1),
		source: z.string().min(1),
		rows: z.number().int().positive(),
		trainRows: z.number().int().positive(),
		holdoutRows: z.number().int().positive(),
		positiveRate: probability,
		split: z.string().min(1),
		seed: z.number().int(),
		hyperparameters: z.record(z.string(), z.unknown())
	}),
	metrics: z.object({ holdout: metricsSchema, train: metricsSchema.partial().optional() }),
	reference: z.object({
		features: z.record(z.string(), z.discriminatedUnion('kind', [numericReference, categoricalReference])),
		/** Distribution of the predicted probability on the holdout set. */
		score: z.object({ edges: z.array(finite).min(2), proportions: z.array(probability).min(1) })
	}),
	policy: policySchema,
	explanation: z.object({
		/** SHAP is in log-odds (margin) space; baseValue + Σ contributions = margin. */
		space: z.literal('log_odds'),
		baseValue: finite,
		/** Linear models: training mean of each tensor column (for exact linear SHAP). */
		columnMeans: z.array(finite).nullable(),
		/** Mean |SHAP| per raw feature on the holdout set (global importance). */
		meanAbsShap: z.record(z.string(), finite.min(0))
	}),
	golden: z.object({ path: z.literal('golden.jsonl'), rows: z.number().int().min(1) })
});
export type Manifest = z.infer<typeof manifestSchema>;

/** One raw applicant: feature name → number, category string, or null for missing. */
export type RawApplicant = Record<string, number | string | null>;

/** One line of `golden.jsonl`. */
export const goldenRowSchema = z.object({
	raw: z.record(z.string(), z.union([finite, z.string(), z.null()])),
	probability: probability,
	margin: finite,
	baseValue: finite,
	shap: z.record(z.string(), finite)
});
export type GoldenRow = z.infer<typeof goldenRowSchema>;
