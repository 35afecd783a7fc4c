/**
 * How decisions and scores read in the portal: the same words and figures on every page, on the
 * server and in the browser (colour is never the only carrier of a decision's meaning).
 */

export type DecisionWord = 'approve' | 'review' | 'decline';

const WORDS: Record<DecisionWord, string> = {
	approve: 'Approve',
	review: 'Refer for review',
	decline: 'Decline'
};

/** The decision in words. */
export function decisionLabel(decision: DecisionWord): string {
	return WORDS[decision];
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

/** A SHAP contribution in log-odds with its sign: `+0.142`, `−0.096`. */
export function formatContribution(value: number): string {
	const text = Math.abs(value).toFixed(3);
	return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}
