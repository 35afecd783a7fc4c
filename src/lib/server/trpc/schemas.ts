/**
 * Input and output schemas of the public API. The applicant itself is checked against the model's
 * own manifest-generated schema in the scoring service (models are loaded at run time); here it is
 * an object of feature values, and `GET /models/{model}` describes what each model expects.
 */
import { z } from 'zod';
import { applicationId } from '$lib/validation/application-id';
import { modelStates } from '../db/schema';

export const MAX_BATCH_ROWS = 10_000;

const modelId = z.string().min(1).max(64).describe('Model id, e.g. `lending-club`.');
const version = z.string().min(1).max(64).optional().describe('Model version; the champion when omitted.');
const featureValue = z.union([z.number(), z.string(), z.null()]);
// Not parsed here: the model's own schema checks each field, and rejects unknown ones, in the
// scoring service. An object schema would copy the applicant key by key, and assigning a
// `__proto__` key sets the copy's prototype instead, so that key vanished before that check.
const applicant = z.unknown().meta({
	type: 'object',
	additionalProperties: true,
	description: 'Feature name → value (number, category or null when missing); see GET /models/{model}.'
});
const requestId = z
	.string()
	.min(1)
	.max(128)
	.regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, and . _ : - only')
	.optional()
	.describe('Idempotency key: the same key from the same caller returns the stored result.');

export const scoreInput = z.strictObject({
	model: modelId,
	version,
	applicant,
	applicationId: applicationId.optional(),
	explain: z.boolean().default(false).describe('Return the SHAP contribution of every feature.'),
	requestId
});

/**
 * A batch row is checked row by row in the scoring service, so that a row that is not even an
 * object gets its own field error like any other bad row, and the batch goes on. Documented as the
 * object it must be; not parsed here (a record schema cost 4.5 ms per 1,000 rows, a loose object 1.8).
 */
const batchApplicant = z.unknown().meta({
	type: 'object',
	additionalProperties: true,
	description: 'Feature name → value (number, category or null when missing); see GET /models/{model}.'
});

export const batchInput = z
	.strictObject({
		model: modelId,
		version,
		applicants: z.array(batchApplicant).min(1).max(MAX_BATCH_ROWS),
		applicationIds: z
			.array(applicationId.nullable())
			.max(MAX_BATCH_ROWS)
			.optional()
			.describe('The reference of each applicant, in the same order (null where there is none).'),
		explain: z.boolean().default(false),
		requestId
	})
	.refine(
		(value) => value.applicationIds === undefined || value.applicationIds.length === value.applicants.length,
		{
			message: 'Give one applicationId (or null) per applicant.',
			path: ['applicationIds']
		}
	);

export const explainInput = z
	.strictObject({
		predictionId: z.uuid().optional().describe('Explain this stored prediction…'),
		model: modelId.optional().describe('…or score this applicant without recording it.'),
		version,
		applicant: applicant.optional()
	})
	.refine(
		(value) =>
			value.predictionId !== undefined || (value.model !== undefined && value.applicant !== undefined),
		{
			message: 'Give either predictionId, or model and applicant.',
			path: ['predictionId']
		}
	);

const reason = z.object({
	feature: z.string().describe('The feature behind the reason.'),
	code: z.string().describe("The manifest's reason code for the feature, e.g. LC06."),
	text: z
		.string()
		.describe(
			"The reason in words, true of this applicant: its value and, where the model's reference population allows, how it compares (e.g. 'Annual income of 35,000 USD is lower than for 80 % of applicants'; 'Loan term: 60 months'; 'Annual income was not provided')."
		),
	standing: z
		.object({
			side: z.enum(['higher', 'lower', 'worse']),
			percent: z
				.number()
				.int()
				.describe('Share of the reference population, rounded down to a multiple of 5 (5 to 95).')
		})
		.nullable()
		.describe('The comparison the text names, or null when it names the value only.'),
	contribution: z.number().describe('SHAP contribution in log-odds; always > 0 (it raised the risk).'),
	value: featureValue.describe("The applicant's value (null when missing).")
});

export const scoreOutput = z.object({
	predictionId: z.string(),
	requestId: z.string(),
	model: z.object({ id: z.string(), version: z.string() }),
	applicationId: z.string().nullable().describe('The reference given with the application, if any.'),
	probability: z.number().describe('Probability of default.'),
	points: z.number().int(),
	band: z.object({ name: z.string(), label: z.string() }),
	decision: z.enum(['approve', 'review', 'decline']),
	reasons: z
		.array(reason)
		.describe('Up to four adverse-action reasons: only features that raised the risk, strongest first.'),
	explanation: z
		.object({
			baseValue: z.number(),
			margin: z.number(),
			contributions: z.array(
				z.object({ feature: z.string(), label: z.string(), value: featureValue, shap: z.number() })
			)
		})
		.optional(),
	latencyMs: z.number(),
	createdAt: z.string(),
	replayed: z.boolean()
});

const counterfactualChange = z.object({
	feature: z.string(),
	label: z.string(),
	from: z.string().describe('The current value in words.'),
	to: z.string().describe('The suggested value in words.'),
	toValue: z.string().describe('The suggested raw value (a number or category, as text).'),
	distance: z
		.number()
		.describe('Size of the move: numeric in reference-quantile units, 1 for a category switch.')
});

export const counterfactualOutput = z
	.object({
		searched: z.boolean().describe('False when the applicant is already approved.'),
		found: z.boolean().describe('True when a change within the rules reaches the target probability.'),
		reason: z.string().nullable().describe('Why there is no suggestion, in words; null when found.'),
		changes: z.array(counterfactualChange).describe('Up to three features to change together.'),
		distance: z.number().describe("Sum of the changes' distances."),
		probability: z
			.number()
			.nullable()
			.describe('Probability of default of the changed applicant, re-scored; null when not found.'),
		decision: z.enum(['approve', 'review', 'decline']).nullable(),
		tried: z.array(z.string()).describe('Labels of the features the search could move.'),
		approveBelow: z.number(),
		targetProbability: z.number().describe('The search aims at or below this: approveBelow × (1 − margin).'),
		margin: z.number().describe('Relative margin under the approve cut-off.')
	})
	.describe(
		"The smallest change within the model's rules (direction, offered values, range) that brings the probability a margin below the approve cut-off."
	);

export const explainOutput = scoreOutput.extend({
	predictionId: z
		.string()
		.nullable()
		.describe('Null when the applicant was explained without being recorded.'),
	counterfactual: counterfactualOutput
});

export const batchOutput = z.object({
	batchId: z.string(),
	model: z.object({ id: z.string(), version: z.string() }),
	summary: z.object({
		rows: z.number().int(),
		scored: z.number().int(),
		rejected: z.number().int(),
		approve: z.number().int(),
		review: z.number().int(),
		decline: z.number().int()
	}),
	results: z.array(
		z.union([
			scoreOutput.extend({ index: z.number().int(), ok: z.literal(true) }),
			z.object({
				index: z.number().int(),
				ok: z.literal(false),
				fieldErrors: z.record(z.string(), z.array(z.string()))
			})
		])
	)
});

export const modelListOutput = z.array(
	z.object({
		id: z.string(),
		name: z.string(),
		description: z.string(),
		champion: z.string(),
		generation: z
			.number()
			.int()
			.describe('Grows with every change to the registry of this model; send it back as expectedGeneration.'),
		previousChampion: z.string().nullable().describe('The version a rollback would restore, if any.'),
		versions: z.array(
			z.object({
				version: z.string(),
				status: z.enum(modelStates),
				kind: z.enum(['tree_ensemble', 'linear']),
				auc: z.number()
			})
		)
	})
);

const range = z.object({ min: z.number(), max: z.number() }).nullable();

export const modelInfoOutput = z.object({
	id: z.string(),
	version: z.string(),
	name: z.string(),
	description: z.string(),
	kind: z.enum(['tree_ensemble', 'linear']),
	status: z.enum(modelStates),
	generation: z.number().int(),
	features: z.array(
		z.object({
			name: z.string(),
			label: z.string(),
			description: z.string(),
			type: z.enum(['numeric', 'categorical', 'ordinal']),
			unit: z.string().nullable(),
			range,
			integer: z.boolean(),
			categories: z.array(z.string()).nullable(),
			categoryLabels: z.record(z.string(), z.string()).nullable(),
			missingAllowed: z.boolean()
		})
	),
	target: z.object({ name: z.string(), positive: z.string(), definition: z.string() }),
	metrics: z.object({
		auc: z.number(),
		gini: z.number(),
		ks: z.number(),
		brier: z.number(),
		logLoss: z.number(),
		calibration: z.array(z.object({ meanPredicted: z.number(), observedRate: z.number(), count: z.number() }))
	}),
	policy: z.object({
		cutoffs: z.object({ approveBelow: z.number(), declineAtOrAbove: z.number() }),
		costMatrix: z.object({ missedDefault: z.number(), refusedGood: z.number() }),
		scaling: z.object({ basePoints: z.number(), baseOdds: z.number(), pdo: z.number() }),
		bands: z.array(z.object({ name: z.string(), maxProbability: z.number(), label: z.string() }))
	}),
	training: z.object({ dataset: z.string(), rows: z.number(), positiveRate: z.number() }),
	importance: z.record(z.string(), z.number())
});
