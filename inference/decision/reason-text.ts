/**
 * The sentence of an adverse-action reason, true of this applicant: it names the applicant's own
 * value, and where the manifest's reference population allows, how it compares.
 *
 * - numeric: "Annual income of 35,000 USD is lower than for 80 % of applicants", or
 *   "Accounts now delinquent: 1" when no comparison is both true and worth saying;
 * - ordinal whose order means risk: "Lending Club sub-grade E3 is worse than for 85 % of applicants";
 * - categorical (and an ordinal without a risk order): "Loan term: 60 months";
 * - missing: "Annual income was not provided".
 */
import type { CategoricalReference, Feature, NumericReference } from '../manifest';
import { formatValue } from './format-value';
import { standingOf, type Standing } from './standing';

/** A reason's wording and the standing it names. */
export interface ReasonWording {
	text: string;
	standing: Standing | null;
}

/** Words for one applicant value of one feature (see the module comment). */
export function reasonWording(
	feature: Feature,
	ref: NumericReference | CategoricalReference | undefined,
	value: number | string | null
): ReasonWording {
	if (value === null) return { text: `${feature.label} was not provided`, standing: null };
	const shown = formatValue(feature, value);
	const standing = standingOf(feature, ref, value);
	if (!standing) return { text: `${feature.label}: ${shown}`, standing };
	const subject = feature.type === 'numeric' ? `${feature.label} of ${shown}` : `${feature.label} ${shown}`;
	return { text: `${subject} is ${standing.side} than for ${standing.percent} % of applicants`, standing };
}
