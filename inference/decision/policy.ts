/**
 * The decision layer: probability of default → points (PDO scaling) → risk band → decision
 * (approve / review / decline) → reason codes. Everything comes from the manifest's `policy` and
 * feature `reason`s, so changing a cut-off or a reason's wording needs no code.
 *
 * Reason codes are the features pushing risk up the most (largest positive SHAP in log-odds), at
 * most four as Regulation B's adverse-action notices suggest, given for every decision so that a
 * review or an approval at a worse price can be explained too. Their sentences are built for the
 * applicant (reason-text.ts): the applicant's value, and how it compares with the reference
 * population of the manifest, never a fixed claim that could contradict the value.
 */
import type { Manifest, Policy, RawApplicant } from '../manifest';
import { reasonWording } from './reason-text';
import type { Standing } from './standing';

export type { Standing } from './standing';

export type DecisionOutcome = 'approve' | 'review' | 'decline';

/** One adverse-action reason. */
export interface ReasonCode {
	feature: string;
	/** Short code from the manifest (e.g. for a notice template). */
	code: string;
	/**
	 * The reason in words, true of this applicant: its value and, where the reference population
	 * allows, how it compares ("Annual income of 35,000 USD is lower than for 80 % of applicants").
	 */
	text: string;
	/** The comparison the text names, or null when it names the value only. */
	standing: Standing | null;
	/** SHAP contribution in log-odds (always > 0: it raised the risk). */
	contribution: number;
	/** The applicant's value for the feature (null when missing). */
	value: number | string | null;
}

export interface Decision {
	decision: DecisionOutcome;
	/** Score in points, rounded to a whole number (higher = safer). */
	points: number;
	band: { name: string; label: string };
	/** At most {@link MAX_REASONS}, strongest first, one per reason code. */
	reasons: ReasonCode[];
}

/** Regulation B asks for the principal reasons; four is the customary maximum. */
export const MAX_REASONS = 4;

/** A probability kept away from 0 and 1 so that points stay finite. */
const P_FLOOR = 1e-9;

/** points = offset + factor · ln((1 − p) / p), factor = pdo / ln 2, offset = basePoints − factor · ln(baseOdds). */
export function scorePoints(p: number, scaling: Policy['scaling']): number {
	const q = Math.min(1 - P_FLOOR, Math.max(P_FLOOR, p));
	const factor = scaling.pdo / Math.LN2;
	const offset = scaling.basePoints - factor * Math.log(scaling.baseOdds);
	return Math.round(offset + factor * Math.log((1 - q) / q));
}

/** The first band whose `maxProbability` is at or above p. */
export function riskBand(p: number, bands: Policy['bands']): { name: string; label: string } {
	const band = bands[bandIndex(p, bands)];
	if (band === undefined) throw new Error('policy has no bands');
	return { name: band.name, label: band.label };
}

/** Index of {@link riskBand}'s band: the first at or above p, else the last. */
function bandIndex(p: number, bands: Policy['bands']): number {
	const i = bands.findIndex((b) => p <= b.maxProbability);
	return i === -1 ? bands.length - 1 : i;
}

/** approve when p < approveBelow, decline when p ≥ declineAtOrAbove, review in between. */
export function decisionFor(p: number, cutoffs: Policy['cutoffs']): DecisionOutcome {
	if (p < cutoffs.approveBelow) return 'approve';
	if (p >= cutoffs.declineAtOrAbove) return 'decline';
	return 'review';
}

/** Turns scores into decisions for one model version. */
export interface DecisionPolicy {
	/**
	 * Decides for one row.
	 * @param shap SHAP values per raw feature in manifest order, read from `shap[shapOffset…]`
	 * @param value the applicant's value of feature i (for the reason's `value`)
	 */
	decide(
		probability: number,
		shap: ArrayLike<number>,
		shapOffset: number,
		value: (featureIndex: number) => number | string | null
	): Decision;
	/** Convenience for one applicant with SHAP as a record. */
	decideApplicant(
		probability: number,
		shap: Readonly<Record<string, number>>,
		raw: Readonly<RawApplicant>
	): Decision;
}

/** Builds the decision policy of a manifest. */
export function createDecisionPolicy(manifest: Manifest): DecisionPolicy {
	const { policy, features } = manifest;
	const n = features.length;
	const names = features.map((f) => f.name);
	// Every decision of a band shares its { name, label }: one object per band, not per decision.
	const bands = policy.bands.map((b) => ({ name: b.name, label: b.label }));
	/** Scratch for `reasons` (one decision at a time: the policy runs on one thread). */
	const adverse = new Int32Array(n);
	function reasons(
		shap: ArrayLike<number>,
		at: number,
		value: (i: number) => number | string | null
	): ReasonCode[] {
		// The features that raised the risk, strongest first, ties in manifest order: an insertion
		// sort that moves an entry only past strictly weaker ones (n is a few dozen at most).
		let m = 0;
		for (let i = 0; i < n; i++) {
			const v = shap[at + i] ?? 0;
			if (!(v > 0)) continue;
			let j = m++;
			for (; j > 0 && (shap[at + adverse[j - 1]!] ?? 0) < v; j--) adverse[j] = adverse[j - 1]!;
			adverse[j] = i;
		}
		const out: ReasonCode[] = [];
		for (let k = 0; k < m && out.length < MAX_REASONS; k++) {
			const i = adverse[k]!;
			const f = features[i];
			// Two features sharing a reason code would read as one reason given twice.
			if (f === undefined || out.some((r) => r.code === f.reason.code)) continue;
			const v = value(i);
			const wording = reasonWording(f, manifest.reference.features[f.name], v);
			out.push({
				feature: f.name,
				code: f.reason.code,
				text: wording.text,
				standing: wording.standing,
				contribution: shap[at + i] ?? 0,
				value: v
			});
		}
		return out;
	}

	function decide(
		p: number,
		shap: ArrayLike<number>,
		at: number,
		value: (i: number) => number | string | null
	): Decision {
		const band = bands[bandIndex(p, policy.bands)];
		if (band === undefined) throw new Error('policy has no bands');
		return {
			decision: decisionFor(p, policy.cutoffs),
			points: scorePoints(p, policy.scaling),
			band,
			reasons: reasons(shap, at, value)
		};
	}

	return {
		decide,
		decideApplicant(p, shap, raw) {
			const values = names.map((name) => shap[name] ?? 0);
			return decide(p, values, 0, (i) => raw[names[i] ?? ''] ?? null);
		}
	};
}
