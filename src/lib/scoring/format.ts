/**
 * How applicant values, model outputs and decisions read in the portal: the same words and figures
 * on every page. Shared by server and browser so the server-rendered page and the hydrated one agree.
 */
import { formatNumber, formatQuantity } from '$inference/decision/format-value';

/** Numbers read as in reason sentences (thousands separators, at most two decimals). */
export { formatNumber };

interface FeatureLike {
	type: 'numeric' | 'categorical' | 'ordinal';
	unit: string | null;
	integer: boolean;
	categoryLabels?: Record<string, string> | null;
	options?: { value: string; label: string }[] | null;
}

/** A raw feature value in words: a number with its unit, a category's label, or "unknown". */
export function formatFeatureValue(feature: FeatureLike, value: number | string | null | undefined): string {
	if (value === null || value === undefined || value === '') return 'unknown';
	if (feature.type === 'numeric') {
		const n = typeof value === 'number' ? value : Number(value);
		if (!Number.isFinite(n)) return String(value);
		return formatQuantity(n, feature.unit);
	}
	const key = String(value);
	return (
		feature.categoryLabels?.[key] ?? feature.options?.find((option) => option.value === key)?.label ?? key
	);
}

/** A probability as a percentage with one decimal: 0.0734 → "7.3 %". */
export function formatPercent(probability: number, digits = 1): string {
	return `${(probability * 100).toFixed(digits)} %`;
}

/** A share of a population: whole percent, one decimal below 1 % ("0.4 %"), "none" at zero. */
export function formatShare(share: number): string {
	if (share === 0) return '0 %';
	return share < 0.01 ? `${(share * 100).toFixed(1)} %` : `${Math.round(share * 100)} %`;
}

/** A SHAP push in log-odds with its sign: "+0.42" or "−0.17". */
export function formatPush(shap: number): string {
	const size = Math.abs(shap).toFixed(2);
	if (size === '0.00') return '0.00';
	return shap > 0 ? `+${size}` : `−${size}`;
}

/** What a push means, in words, so that colour never carries it alone. */
export function pushWords(shap: number): string {
	if (Math.abs(shap) < 0.005) return 'no effect';
	return shap > 0 ? 'raises risk' : 'lowers risk';
}

export type DecisionWord = 'approve' | 'review' | 'decline';

/** A decision in words, the same on every page (colour is never the only carrier of its meaning). */
export const decisionWords: Record<DecisionWord, string> = {
	approve: 'Approve',
	review: 'Refer for review',
	decline: 'Decline'
};

/** The decision in words. */
export function decisionLabel(decision: DecisionWord): string {
	return decisionWords[decision];
}

/** The badge class of a decision (app.css `.badge.ok|warn|bad`). */
export function decisionTone(decision: DecisionWord): 'ok' | 'warn' | 'bad' {
	return decision === 'approve' ? 'ok' : decision === 'review' ? 'warn' : 'bad';
}

/** A probability as a percentage: `3.42 %` (two decimals below 10 %, one above). */
export function formatProbability(p: number): string {
	const percent = p * 100;
	return `${percent.toFixed(percent < 10 ? 2 : 1)} %`;
}

/** A SHAP contribution in log-odds with its sign and three decimals: `+0.142`, `−0.096`. */
export function formatContribution(value: number): string {
	const text = Math.abs(value).toFixed(3);
	return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}
