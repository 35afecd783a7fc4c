/**
 * Turns a scoring answer into what the portal's result panel shows: values in words, the
 * counterfactual hint and the applicant against the training population.
 */
import type { RawApplicant } from '$inference/manifest';
import type { ScoreOutcome, ScoreView } from '$lib/scoring/types';
import { describeValue } from './applicant-form';
import type { CounterfactualService } from './counterfactual.service';
import type { ModelVersion } from './models.service';
import { applicantVsPopulation } from './population';
import type { Explanation } from './scoring';

/** The result panel's data for a recorded score or an unrecorded what-if. */
export async function scoreOutcome(
	counterfactuals: CounterfactualService,
	version: ModelVersion,
	applicant: RawApplicant,
	result: Explanation,
	kind: ScoreView['kind']
): Promise<ScoreOutcome> {
	const features = new Map(version.manifest.features.map((f) => [f.name, f]));
	const valueOf = (name: string) => {
		const f = features.get(name);
		return f ? describeValue(f, applicant[name] ?? null) : String(applicant[name] ?? 'unknown');
	};
	const explanation = result.explanation;
	if (!explanation) throw new Error('the portal asks for explanations; none came back');
	const shap = Object.fromEntries(explanation.contributions.map((c) => [c.feature, c.shap]));
	const score: ScoreView = {
		kind,
		predictionId: result.predictionId,
		model: result.model,
		probability: result.probability,
		points: result.points,
		band: { name: result.band.name, label: result.band.label },
		decision: result.decision,
		reasons: result.reasons.map((r) => ({
			feature: r.feature,
			code: r.code,
			text: r.text,
			value: valueOf(r.feature)
		})),
		baseValue: explanation.baseValue,
		margin: explanation.margin,
		contributions: explanation.contributions.map((c) => ({
			feature: c.feature,
			label: c.label,
			value: valueOf(c.feature),
			shap: c.shap
		}))
	};
	return {
		score,
		counterfactual: await counterfactuals.suggest(version, applicant, result.probability),
		population: applicantVsPopulation(version.manifest, applicant, shap)
	};
}
