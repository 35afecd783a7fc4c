/**
 * Counterfactual hints: for an applicant who is not approved, the smallest change within the
 * manifest's rules that brings the probability of default a stated margin below the approve
 * cut-off, found with the real model and verified by scoring the changed applicant again.
 *
 * Rules: only features with a `change` move; in its `direction` (`increase`, `decrease` or
 * `either`; ordinal features in the order of their categories); to one of its offered `values` when
 * the manifest lists them; inside the feature's range; whole numbers for integer features. A free
 * numeric move is at most {@link MAX_MOVE} in reference-quantile units, so no suggestion asks for a
 * jump across most of the training population.
 *
 * Search: a beam search over single-feature moves, up to {@link MAX_FEATURES} features. Round one
 * scores every single move; each further round adds one more feature's move to the most promising
 * combinations. The first round with a combination at or below the target ends the search (fewest
 * features first), and its combination with the smallest total distance wins; one more round
 * shrinks its free numeric moves towards the applicant's values while the target still holds.
 * Every round is one batch through the inference pool, never one call per candidate.
 */
import { decisionFor } from '$inference/decision/policy';
import type { Feature, Manifest, RawApplicant } from '$inference/manifest';
import { formatPercent } from '$lib/scoring/format';
import type { CounterfactualChange, CounterfactualView } from '$lib/scoring/types';
import { describeValue } from './applicant-form';
import type { ModelVersion } from './models.service';
import type { ScoringEngine } from './scoring';

/** The suggestion aims at approveBelow × (1 − MARGIN): a tenth inside approve, not on the cut-off. */
export const MARGIN = 0.1;
/** At most this many features move together. */
export const MAX_FEATURES = 3;
/** Combinations carried from one round to the next. */
const BEAM_WIDTH = 6;
/** Largest free numeric move, in reference-quantile units (share of the training population crossed). */
const MAX_MOVE = 0.5;
/** Quantile step between tried values of a free numeric move. */
const QUANTILE_STEP = 0.025;
/** Points tried between the applicant's value and a winning free numeric move, to shrink it. */
const REFINE_POINTS = 10;
/** Relative steps around the applicant's own value, so small changes are tried first-hand. */
const LOCAL_STEPS = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5];

/** One feature set to one value. */
interface Move {
	feature: Feature;
	value: number | string;
	distance: number;
}

/** A set of moves of distinct features, with the model's probability once scored. */
interface Combination {
	moves: Move[];
	distance: number;
	probability: number;
}

export class CounterfactualService {
	constructor(private readonly engine: ScoringEngine) {}

	async suggest(
		version: ModelVersion,
		applicant: RawApplicant,
		probability: number
	): Promise<CounterfactualView> {
		const { manifest } = version;
		const approveBelow = manifest.policy.cutoffs.approveBelow;
		const targetProbability = approveBelow * (1 - MARGIN);
		const movable = manifest.features.filter((f) => f.change !== null);
		const tried = movable.map((f) => f.label);
		const base = { tried, approveBelow, targetProbability, margin: MARGIN };
		const none = (searched: boolean, reason: string): CounterfactualView => ({
			searched,
			found: false,
			reason,
			changes: [],
			distance: 0,
			probability: null,
			decision: null,
			...base
		});
		if (probability < approveBelow) return none(false, 'Approved: no change is needed.');
		if (movable.length === 0) return none(true, 'This model declares no feature an applicant can change.');

		const moves = new Map(movable.map((f) => [f.name, movesOf(f, applicant, manifest)]));
		const allMoves = [...moves.values()].flat();
		if (allMoves.length === 0) {
			return none(
				true,
				`None of the features an applicant can change (${tried.join(', ')}) can move further within its rules.`
			);
		}

		let beam: Combination[] = [{ moves: [], distance: 0, probability }];
		let best: Combination | null = null;
		for (let round = 1; round <= MAX_FEATURES && !best && beam.length > 0; round++) {
			const seen = new Set<string>();
			const next: Omit<Combination, 'probability'>[] = [];
			for (const combination of beam) {
				const used = new Set(combination.moves.map((m) => m.feature.name));
				for (const move of allMoves) {
					if (used.has(move.feature.name)) continue;
					const all = [...combination.moves, move];
					const key = all
						.map((m) => `${m.feature.name}=${m.value}`)
						.sort()
						.join('&');
					if (seen.has(key)) continue;
					seen.add(key);
					next.push({ moves: all, distance: combination.distance + move.distance });
				}
			}
			const scored = await this.#score(version, applicant, next);
			const reaching = scored.filter((c) => c.probability <= targetProbability);
			if (reaching.length > 0) {
				best = reaching.reduce((a, b) => (b.distance < a.distance ? b : a));
			} else {
				beam = promising(scored, probability);
			}
		}

		const notFound = `No change of up to ${MAX_FEATURES} of the features an applicant can change (${tried.join(', ')}), within their direction, offered values and range, brings the probability of default to ${formatPercent(targetProbability)} or below (${formatPercent(MARGIN, 0)} under the approve cut-off of ${formatPercent(approveBelow)}).`;
		if (!best) return none(true, notFound);
		best = await this.#refine(version, applicant, best, targetProbability);

		// Verify: score the changed applicant once more and report what that says.
		const changed = applyMoves(applicant, best.moves);
		const [row] = await this.engine.run(version, [changed]);
		const verified = row?.probability ?? 1;
		if (verified > targetProbability) return none(true, notFound);
		const changes = [...best.moves]
			.sort((a, b) => a.distance - b.distance)
			.map((m) => changeOf(m, applicant));
		return {
			searched: true,
			found: true,
			reason: null,
			changes,
			distance: best.distance,
			probability: verified,
			decision: decisionFor(verified, manifest.policy.cutoffs),
			...base
		};
	}

	/**
	 * Shrinks the winner: each free numeric move is tried at points between the applicant's value
	 * and the move's, the others kept; the smallest total distance still at the target wins. One batch.
	 */
	async #refine(
		version: ModelVersion,
		applicant: RawApplicant,
		best: Combination,
		targetProbability: number
	): Promise<Combination> {
		const { manifest } = version;
		const tries: Omit<Combination, 'probability'>[] = [];
		best.moves.forEach((move, i) => {
			const f = move.feature;
			if (f.type !== 'numeric' || f.change?.values || typeof move.value !== 'number') return;
			const current = applicant[f.name];
			const from = typeof current === 'number' ? current : quantileScale(f, manifest).median;
			const points: number[] = [];
			for (let k = 1; k < REFINE_POINTS; k++) points.push(from + ((move.value - from) * k) / REFINE_POINTS);
			for (const smaller of movesOf(f, applicant, manifest, points)) {
				if (smaller.distance >= move.distance) continue;
				const moves = best.moves.map((m, j) => (j === i ? smaller : m));
				tries.push({ moves, distance: moves.reduce((sum, m) => sum + m.distance, 0) });
			}
		});
		const reaching = (await this.#score(version, applicant, tries)).filter(
			(c) => c.probability <= targetProbability
		);
		return reaching.reduce((a, b) => (b.distance < a.distance ? b : a), best);
	}

	async #score(
		version: ModelVersion,
		applicant: RawApplicant,
		combinations: Omit<Combination, 'probability'>[]
	): Promise<Combination[]> {
		if (combinations.length === 0) return [];
		const rows = await this.engine.run(
			version,
			combinations.map((c) => applyMoves(applicant, c.moves))
		);
		return combinations.map((c, i) => ({ ...c, probability: rows[i]?.probability ?? 1 }));
	}
}

function applyMoves(applicant: RawApplicant, moves: readonly Move[]): RawApplicant {
	const changed = { ...applicant };
	for (const m of moves) changed[m.feature.name] = m.value;
	return changed;
}

/**
 * The combinations worth extending: the lowest probabilities, and the largest fall in probability
 * per unit of distance (so a cheap move that helps is kept next to a costly one that helps more).
 */
function promising(scored: Combination[], from: number): Combination[] {
	const improving = scored.filter((c) => c.probability < from);
	const half = Math.ceil(BEAM_WIDTH / 2);
	const lowest = [...improving].sort((a, b) => a.probability - b.probability).slice(0, half);
	const efficient = [...improving]
		.sort((a, b) => (from - b.probability) / b.distance - (from - a.probability) / a.distance)
		.filter((c) => !lowest.includes(c))
		.slice(0, BEAM_WIDTH - lowest.length);
	return [...lowest, ...efficient];
}

/**
 * Every move of one feature the manifest's rules allow; for a free numeric feature, `only` replaces
 * the generated values (the refinement's points), still under every rule.
 */
export function movesOf(f: Feature, applicant: RawApplicant, manifest: Manifest, only?: number[]): Move[] {
	const rule = f.change;
	if (!rule) return [];
	const current = applicant[f.name] ?? null;
	if (f.type !== 'numeric') {
		const categories = f.categories ?? [];
		const offered = (rule.values ?? categories).filter(
			(v): v is string => typeof v === 'string' && categories.includes(v) && v !== current
		);
		const at = typeof current === 'string' ? categories.indexOf(current) : -1;
		const span = Math.max(1, categories.length - 1);
		return offered.flatMap((value) => {
			const index = categories.indexOf(value);
			if (f.type === 'ordinal' && at >= 0 && !allowed(rule.direction, index - at)) return [];
			// A switch of category counts 1; an ordinal step its share of the scale.
			const distance = f.type === 'ordinal' && at >= 0 ? Math.abs(index - at) / span : 1;
			return [{ feature: f, value, distance }];
		});
	}
	const cdf = quantileScale(f, manifest);
	const anchor = typeof current === 'number' ? current : cdf.median;
	const inRange = (v: number) => !f.range || (v >= f.range.min && v <= f.range.max);
	const distanceOf = (v: number) => Math.abs(cdf.at(v) - cdf.at(anchor));
	let values: number[];
	if (rule.values) {
		values = rule.values.filter((v): v is number => typeof v === 'number');
	} else if (only) {
		values = only;
	} else {
		values = [];
		const from = cdf.at(anchor);
		const sign = rule.direction === 'decrease' ? [-1] : rule.direction === 'increase' ? [1] : [-1, 1];
		for (const s of sign) {
			for (let k = 1; k * QUANTILE_STEP <= MAX_MOVE + 1e-9; k++)
				values.push(cdf.inverse(from + s * k * QUANTILE_STEP));
			const scale = anchor !== 0 ? Math.abs(anchor) : 1;
			for (const step of LOCAL_STEPS) values.push(anchor + s * scale * step);
			if (f.range) values.push(s < 0 ? f.range.min : f.range.max);
		}
	}
	const seen = new Set<number>();
	const moves: Move[] = [];
	for (const raw of values) {
		const value = clean(raw, f.integer);
		if (!Number.isFinite(value) || seen.has(value) || value === current || !inRange(value)) continue;
		if (f.integer && !Number.isInteger(value)) continue;
		if (!allowed(rule.direction, value - anchor)) continue;
		const distance = distanceOf(value);
		if (!rule.values && distance > MAX_MOVE + 1e-9) continue;
		seen.add(value);
		moves.push({ feature: f, value, distance: Math.max(distance, 1e-6) });
	}
	return moves;
}

function allowed(direction: 'increase' | 'decrease' | 'either', delta: number): boolean {
	if (delta === 0) return false;
	return direction === 'either' || (direction === 'increase' ? delta > 0 : delta < 0);
}

/**
 * The training distribution of a numeric feature as a piecewise-linear cumulative share through
 * the range ends and the reference quantiles (p05 … p95); without a reference, the range itself.
 */
function quantileScale(f: Feature, manifest: Manifest) {
	const reference = manifest.reference.features[f.name];
	const min = f.range?.min ?? 0;
	const max = f.range?.max ?? 1;
	const points: [number, number][] = [[min, 0]];
	if (reference?.kind === 'numeric') {
		const q = reference.quantiles;
		points.push([q.p05, 0.05], [q.p25, 0.25], [q.p50, 0.5], [q.p75, 0.75], [q.p95, 0.95]);
	}
	points.push([max, 1]);
	// Ties (many rows at one value) collapse into one point at the middle of their shares.
	const knots: [number, number][] = [];
	let low = 0;
	for (const [x, y] of points.sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
		const last = knots.at(-1);
		if (last && x <= last[0]) {
			last[1] = (low + y) / 2;
			continue;
		}
		low = y;
		knots.push([x, y]);
	}
	const at = (v: number): number => interpolate(knots, v);
	const inverse = (share: number): number =>
		interpolate(
			knots.map(([x, y]) => [y, x]),
			share
		);
	const median = reference?.kind === 'numeric' ? reference.quantiles.p50 : (min + max) / 2;
	return { at, inverse, median };
}

/** Linear interpolation through ascending knots, clamped at the ends. */
function interpolate(knots: [number, number][], v: number): number {
	const first = knots[0];
	const last = knots.at(-1);
	if (!first || !last) return 0;
	if (v <= first[0]) return first[1];
	if (v >= last[0]) return last[1];
	for (let i = 1; i < knots.length; i++) {
		const [x1, y1] = knots[i] as [number, number];
		const [x0, y0] = knots[i - 1] as [number, number];
		if (v <= x1) return x1 === x0 ? y1 : y0 + ((y1 - y0) * (v - x0)) / (x1 - x0);
	}
	return last[1];
}

/** Rounds away float noise so a suggestion reads as a value a person would type. */
function clean(value: number, integer: boolean): number {
	if (integer) return Math.round(value);
	const magnitude = Math.abs(value);
	const decimals = magnitude >= 1000 ? 0 : magnitude >= 10 ? 1 : 2;
	return Number(value.toFixed(decimals));
}

function changeOf(move: Move, applicant: RawApplicant): CounterfactualChange {
	const f = move.feature;
	return {
		feature: f.name,
		label: f.label,
		from: describeValue(f, applicant[f.name] ?? null),
		to: describeValue(f, move.value),
		toValue: String(move.value),
		distance: move.distance
	};
}
