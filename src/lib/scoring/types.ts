/**
 * What the scoring pages exchange between server and browser: plain data generated from a model's
 * manifest and from a scored applicant. No server code here, so components may import it.
 */

/** One input of the applicant form, generated from a manifest feature. */
export interface FormFieldSpec {
	name: string;
	label: string;
	description: string;
	type: 'numeric' | 'categorical' | 'ordinal';
	unit: string | null;
	range: { min: number; max: number } | null;
	integer: boolean;
	/** Categorical and ordinal features: the choices, with their human labels. */
	options: { value: string; label: string }[] | null;
	missingAllowed: boolean;
	actionable: boolean;
}

/** Form values as the form holds them: text, '' for blank / unknown. */
export type FormValues = Record<string, string>;

export interface SampleApplicant {
	id: string;
	title: string;
	description: string;
	values: FormValues;
}

export type DecisionName = 'approve' | 'review' | 'decline';

export interface ContributionView {
	feature: string;
	label: string;
	/** The applicant's value in words (category label, number with unit, or "unknown"). */
	value: string;
	shap: number;
}

/** One decision as the result panel shows it (recorded score or unrecorded what-if). */
export interface ScoreView {
	kind: 'recorded' | 'what-if';
	predictionId: string | null;
	model: { id: string; version: string };
	probability: number;
	points: number;
	band: { name: string; label: string };
	decision: DecisionName;
	reasons: { feature: string; code: string; text: string; value: string }[];
	baseValue: number;
	margin: number;
	contributions: ContributionView[];
}

/** The smallest change of one actionable feature that turns the decision into approve. */
export interface CounterfactualChange {
	feature: string;
	label: string;
	from: string;
	to: string;
	/** The raw value to put into the form field. */
	toValue: string;
	/**
	 * Size of the move: numeric features in reference-quantile units (the share of training
	 * applicants between the old and the new value); a category switch counts 1, an ordinal step
	 * its share of the scale.
	 */
	distance: number;
}

export interface CounterfactualView {
	/** False when the applicant is already approved (nothing to search). */
	searched: boolean;
	/** True when a change within the features' rules reaches the target probability. */
	found: boolean;
	/** In words why there is no suggestion (already approved, or nothing within the rules); null when found. */
	reason: string | null;
	/** The suggestion: up to three features moved together, fewest features first, then smallest move. */
	changes: CounterfactualChange[];
	/** Sum of the changes' distances. */
	distance: number;
	/** Probability of default of the changed applicant, re-scored after the search; null when not found. */
	probability: number | null;
	/** Decision for the changed applicant, from that re-score; null when not found. */
	decision: 'approve' | 'review' | 'decline' | null;
	/** Labels of the features the search was allowed to move. */
	tried: string[];
	approveBelow: number;
	/** What the search aims at: approveBelow × (1 − margin), so the result lands inside approve. */
	targetProbability: number;
	/** The relative margin below the approve cut-off (0.1 = 10 % below it). */
	margin: number;
}

/** Where the applicant stands in the training distribution of one feature. */
export interface PopulationView {
	feature: string;
	label: string;
	value: string;
	shap: number;
	kind: 'numeric' | 'categorical';
	bins: { label: string; share: number; applicant: boolean }[];
	/** Numeric: share of training applicants with a lower value (0–1); null when unknown. */
	percentile: number | null;
	/** A sentence saying where the applicant stands. */
	summary: string;
}

/** Everything a scoring or what-if action answers. */
export interface ScoreOutcome {
	score: ScoreView;
	counterfactual: CounterfactualView;
	population: PopulationView[];
}
