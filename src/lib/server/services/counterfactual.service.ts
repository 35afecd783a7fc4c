/**
 * Counterfactual hints: for an applicant who is not approved, the smallest change of one actionable
 * feature (within the feature's range) that would bring the probability of default below the
 * approve cut-off, found with the real model.
 *
 * Numeric features are searched on a grid over the range (plus the training quantiles and small
 * steps around the applicant's value), then refined between the closest flipping value and the
 * nearest value that does not flip; categories are each tried. Every round is one batch through the
 * inference pool, never one call per candidate.
 */
import type { Feature, RawApplicant } from '$inference/manifest';
import type { CounterfactualChange, CounterfactualView } from '$lib/scoring/types';
import { describeValue } from './applicant-form';
import type { ModelVersion } from './models.service';
import type { ScoringEngine } from './scoring';

/** Evenly spaced grid points over a numeric range. */
const GRID_POINTS = 40;
/** Relative steps around the applicant's own value, so small changes are tried first-hand. */
const LOCAL_STEPS = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75];
/** Points tried between the closest flipping value and the nearest non-flipping one. */
const REFINE_POINTS = 24;

interface Candidate {
	feature: Feature;
	value: number | string;
	distance: number;
}

export class CounterfactualService {
	constructor(private readonly engine: ScoringEngine) {}

	/** The smallest flipping change per actionable feature, and the smallest of all. */
	async suggest(
		version: ModelVersion,
		applicant: RawApplicant,
		probability: number
	): Promise<CounterfactualView> {
		const { manifest } = version;
		const approveBelow = manifest.policy.cutoffs.approveBelow;
		const actionable = manifest.features.filter((f) => f.actionable);
		const tried = actionable.map((f) => f.label);
		if (probability < approveBelow) return { searched: false, best: null, changes: [], tried, approveBelow };

		const first = actionable.flatMap((f) => candidatesOf(f, applicant, version));
		const scored = await this.#evaluate(version, applicant, first);
		const best = new Map<string, { candidate: Candidate; probability: number }>();
		const keep = (candidate: Candidate, p: number) => {
			const current = best.get(candidate.feature.name);
			if (p < approveBelow && (!current || candidate.distance < current.candidate.distance)) {
				best.set(candidate.feature.name, { candidate, probability: p });
			}
		};
		scored.forEach(({ candidate, probability: p }) => keep(candidate, p));

		// Refine numeric features between the best flipping value and the nearest one that does not flip.
		const refine: Candidate[] = [];
		for (const { candidate } of best.values()) {
			if (typeof candidate.value !== 'number') continue;
			const from = anchorOf(candidate.feature, applicant, version);
			const target = candidate.value;
			const direction = Math.sign(target - from);
			const notFlipping = scored
				.filter(
					(s) =>
						s.candidate.feature === candidate.feature &&
						s.probability >= approveBelow &&
						typeof s.candidate.value === 'number' &&
						Math.sign(s.candidate.value - from) === direction &&
						s.candidate.distance < candidate.distance
				)
				.map((s) => s.candidate.value as number);
			const near = notFlipping.reduce((a, b) => (Math.abs(b - from) > Math.abs(a - from) ? b : a), from);
			refine.push(...between(candidate.feature, near, target, from));
		}
		if (refine.length > 0) {
			for (const { candidate, probability: p } of await this.#evaluate(version, applicant, refine))
				keep(candidate, p);
		}

		const changes = [...best.values()]
			.map(({ candidate, probability: p }) => changeOf(candidate, applicant, p))
			.sort((a, b) => a.distance - b.distance);
		return { searched: true, best: changes[0] ?? null, changes, tried, approveBelow };
	}

	async #evaluate(version: ModelVersion, applicant: RawApplicant, candidates: Candidate[]) {
		if (candidates.length === 0) return [];
		const rows = await this.engine.run(
			version,
			candidates.map((c) => ({ ...applicant, [c.feature.name]: c.value }))
		);
		return candidates.map((candidate, i) => ({ candidate, probability: rows[i]?.probability ?? 1 }));
	}
}

/** The value distances are measured from: the applicant's, or the training median when unknown. */
function anchorOf(f: Feature, applicant: RawApplicant, version: ModelVersion): number {
	const value = applicant[f.name];
	if (typeof value === 'number') return value;
	const reference = version.manifest.reference.features[f.name];
	return reference?.kind === 'numeric' ? reference.quantiles.p50 : (f.range?.min ?? 0);
}

function candidatesOf(f: Feature, applicant: RawApplicant, version: ModelVersion): Candidate[] {
	const current = applicant[f.name] ?? null;
	if (f.type !== 'numeric') {
		const categories = f.categories ?? [];
		const at = typeof current === 'string' ? categories.indexOf(current) : -1;
		const span = Math.max(1, categories.length - 1);
		return categories.flatMap((value, index) =>
			value === current
				? []
				: [
						{
							feature: f,
							value,
							// A switch of category counts as a whole range; an ordinal step as its share of the scale.
							distance: f.type === 'ordinal' && at >= 0 ? Math.abs(index - at) / span : 1
						}
					]
		);
	}
	if (!f.range) return [];
	const { min, max } = f.range;
	const anchor = anchorOf(f, applicant, version);
	const values: number[] = [];
	for (let i = 0; i <= GRID_POINTS; i++) values.push(min + ((max - min) * i) / GRID_POINTS);
	const reference = version.manifest.reference.features[f.name];
	if (reference?.kind === 'numeric') values.push(...reference.edges, ...Object.values(reference.quantiles));
	const scale = anchor !== 0 ? Math.abs(anchor) : (max - min) / GRID_POINTS;
	for (const step of LOCAL_STEPS) values.push(anchor - scale * step, anchor + scale * step);
	return numericCandidates(f, values, anchor, current);
}

/** Points strictly between `near` (does not flip) and `target` (flips). */
function between(f: Feature, near: number, target: number, anchor: number): Candidate[] {
	const values: number[] = [];
	for (let i = 1; i < REFINE_POINTS; i++) values.push(near + ((target - near) * i) / REFINE_POINTS);
	return numericCandidates(f, values, anchor, null).filter((c) => c.value !== target);
}

function numericCandidates(f: Feature, values: number[], anchor: number, current: unknown): Candidate[] {
	const { min, max } = f.range ?? { min: -Infinity, max: Infinity };
	const span = max - min || 1;
	const seen = new Set<number>();
	const candidates: Candidate[] = [];
	for (const raw of values) {
		const value = clean(Math.min(max, Math.max(min, f.integer ? Math.round(raw) : raw)), f.integer);
		if (value === current || seen.has(value) || !Number.isFinite(value)) continue;
		seen.add(value);
		candidates.push({ feature: f, value, distance: Math.abs(value - anchor) / span });
	}
	return candidates;
}

/** Rounds away float noise so a suggestion reads as a value a person would type. */
function clean(value: number, integer: boolean): number {
	if (integer) return value;
	const magnitude = Math.abs(value);
	const decimals = magnitude >= 1000 ? 0 : magnitude >= 10 ? 1 : 2;
	return Number(value.toFixed(decimals));
}

function changeOf(candidate: Candidate, applicant: RawApplicant, probability: number): CounterfactualChange {
	const f = candidate.feature;
	return {
		feature: f.name,
		label: f.label,
		from: describeValue(f, applicant[f.name] ?? null),
		to: describeValue(f, candidate.value),
		toValue: String(candidate.value),
		distance: candidate.distance,
		probability
	};
}
