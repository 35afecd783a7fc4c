/**
 * Controlled shifts of chosen features, applied to held-out rows before they are sent:
 *
 * - `feature:*k`  numeric: multiply by k
 * - `feature:+k`, `feature:-k`  numeric: add k (or subtract)
 * - `feature:=value`  any feature: set to value (a category of the manifest, or a number)
 * - a suffix `@share` (0 < share ≤ 1) shifts only that share of the rows, chosen by a seeded
 *   generator: `term:=term_60@0.3` gives 30 % of the rows a 60-month term.
 *
 * A shifted number is rounded when the feature takes whole numbers and kept inside the
 * feature's range (the API refuses values outside it); how many were clamped is counted.
 * Missing values stay missing.
 */
import type { Feature, Manifest, RawApplicant } from '../../inference/manifest';
import { seededRandom } from './rows';

export type ShiftOperation = 'multiply' | 'add' | 'set';

export interface Shift {
	/** The text given, for the summary. */
	text: string;
	feature: string;
	operation: ShiftOperation;
	value: number | string;
	/** Share of the rows shifted, in (0, 1]. */
	share: number;
}

/** A bad `--shift`: `field` is the option, the message says what is wrong. */
export class ShiftError extends Error {
	constructor(
		readonly text: string,
		message: string
	) {
		super(`--shift ${text}: ${message}`);
		this.name = 'ShiftError';
	}
}

const SYNTAX = 'expected feature:*k, feature:+k, feature:-k or feature:=value, optionally followed by @share';
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Parses one `--shift` against the model's manifest; throws a `ShiftError` naming the problem. */
export function parseShift(text: string, manifest: Manifest): Shift {
	const colon = text.indexOf(':');
	if (colon <= 0) throw new ShiftError(text, SYNTAX);
	const name = text.slice(0, colon);
	let rest = text.slice(colon + 1);
	const feature = manifest.features.find((f) => f.name === name);
	if (!feature) {
		const known = manifest.features.map((f) => f.name).join(', ');
		throw new ShiftError(text, `unknown feature "${name}" for ${manifest.model.id} (features: ${known})`);
	}
	let share = 1;
	const at = rest.lastIndexOf('@');
	if (at >= 0) {
		const shareText = rest.slice(at + 1);
		share = NUMBER.test(shareText) ? Number(shareText) : NaN;
		if (!(share > 0 && share <= 1))
			throw new ShiftError(
				text,
				`the share after @ must be a number above 0 and at most 1, got "${shareText}"`
			);
		rest = rest.slice(0, at);
	}
	const symbol = rest[0];
	const operand = rest.slice(1);
	if (symbol === '=')
		return { text, feature: name, operation: 'set', value: setValue(text, feature, operand), share };
	if (symbol !== '*' && symbol !== '+' && symbol !== '-') throw new ShiftError(text, SYNTAX);
	if (feature.type !== 'numeric')
		throw new ShiftError(
			text,
			`${name} is ${feature.type}: only =value applies (one of ${(feature.categories ?? []).join(', ')})`
		);
	if (!NUMBER.test(operand) || !Number.isFinite(Number(operand)))
		throw new ShiftError(text, `"${operand}" is not a number`);
	const k = Number(operand);
	if (symbol === '*') {
		if (k < 0) throw new ShiftError(text, 'the factor must not be negative');
		return { text, feature: name, operation: 'multiply', value: k, share };
	}
	return { text, feature: name, operation: 'add', value: symbol === '-' ? -k : k, share };
}

function setValue(text: string, feature: Feature, operand: string): number | string {
	if (feature.type === 'numeric') {
		const value = NUMBER.test(operand) ? Number(operand) : NaN;
		if (!Number.isFinite(value)) throw new ShiftError(text, `"${operand}" is not a number`);
		if (feature.range && (value < feature.range.min || value > feature.range.max))
			throw new ShiftError(
				text,
				`${feature.name} must lie between ${feature.range.min} and ${feature.range.max}, got ${value}`
			);
		if (feature.integer && !Number.isInteger(value))
			throw new ShiftError(text, `${feature.name} takes whole numbers, got ${value}`);
		return value;
	}
	const categories = feature.categories ?? [];
	if (!categories.includes(operand))
		throw new ShiftError(
			text,
			`"${operand}" is not a category of ${feature.name} (categories: ${categories.join(', ')})`
		);
	return operand;
}

/** Parses every `--shift`; two shifts of one feature are refused (their order would matter). */
export function parseShifts(texts: readonly string[], manifest: Manifest): Shift[] {
	const shifts = texts.map((text) => parseShift(text, manifest));
	const seen = new Set<string>();
	for (const shift of shifts) {
		if (seen.has(shift.feature))
			throw new ShiftError(shift.text, `${shift.feature} is shifted twice; give one shift per feature`);
		seen.add(shift.feature);
	}
	return shifts;
}

export interface ShiftCounts {
	/** Per shift (its text): rows changed, and of those, values held at the range's edge. */
	[text: string]: { shifted: number; clamped: number };
}

/**
 * Applies the shifts to a stream of applicants: `apply` returns a shifted copy (the input is not
 * changed) and counts what it did. Which rows a partial shift touches follows from `seed` and the
 * order of the calls.
 */
export function shifter(shifts: readonly Shift[], manifest: Manifest, seed: number) {
	const random = seededRandom(seed ^ 0x5bd1e995);
	const features = new Map(manifest.features.map((f) => [f.name, f]));
	const counts: ShiftCounts = Object.fromEntries(shifts.map((s) => [s.text, { shifted: 0, clamped: 0 }]));
	return {
		counts,
		apply: (applicant: RawApplicant): RawApplicant => {
			if (shifts.length === 0) return applicant;
			const out = { ...applicant };
			for (const shift of shifts) {
				// Drawn for every row, so that the rows one shift picks do not depend on the others.
				const picked = random() < shift.share;
				const current = out[shift.feature];
				if (!picked || current === null || current === undefined) continue;
				const feature = features.get(shift.feature)!;
				const count = counts[shift.text]!;
				count.shifted++;
				if (shift.operation === 'set') {
					out[shift.feature] = shift.value;
					continue;
				}
				const k = shift.value as number;
				let value = shift.operation === 'multiply' ? (current as number) * k : (current as number) + k;
				if (feature.integer) value = Math.round(value);
				if (feature.range && (value < feature.range.min || value > feature.range.max)) {
					value = Math.min(feature.range.max, Math.max(feature.range.min, value));
					count.clamped++;
				}
				out[shift.feature] = value;
			}
			return out;
		}
	};
}
