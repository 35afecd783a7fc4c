/**
 * How a version in shadow compares with the champion on the same applicants: agreement, the
 * decision-flip matrix, the swap-set (who the shadow would approve that the champion did not, and
 * the reverse, with each group's bad rate once outcomes exist), the correlation of the two
 * probabilities, the PSI of the shadow's scores against the champion's, and the features whose SHAP
 * contributions differ most. Read from `shadow_predictions` joined to the champion's `predictions`;
 * a backtest's comparison (backtest.service) runs the same code on `backtest_predictions`.
 */
import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db';
import { backtestPredictions, decisions, predictions, shadowPredictions, type Decision } from '../db/schema';
import { Conflict } from '../errors';
import { psiTable } from '../monitoring/drift/statistics';
import { driftInputSchema, windowOf } from './drift.service';
import type { ModelRegistry, ModelVersion } from './models.service';

/** Most comparisons read at once (the newest first); `truncated` says when there were more. */
export const MAX_COMPARED = 100_000;
/** Features listed by SHAP difference. */
const TOP_FEATURES = 10;

export const shadowComparisonInputSchema = driftInputSchema
	.pick({ model: true, version: true, window: true, from: true, to: true })
	.extend({
		version: z
			.string()
			.min(1)
			.max(64)
			.optional()
			.describe('The version in shadow (default: the one in shadow now).')
	});
export type ShadowComparisonInput = z.input<typeof shadowComparisonInputSchema>;

export interface SwapGroup {
	count: number;
	/** Of them, how many have an outcome recorded. */
	withOutcome: number;
	/** Of those, how many defaulted. */
	bad: number;
	/** bad / withOutcome; null without outcomes. */
	badRate: number | null;
}

export interface ShadowComparison {
	model: string;
	shadowVersion: string;
	/** Whether the version is in shadow now (an earlier shadow's rows can still be compared). */
	inShadow: boolean;
	/** Champion versions that made the decisions compared. */
	championVersions: string[];
	window: { from: string; to: string };
	/** Decisions compared. */
	count: number;
	/** True when the window held more than {@link MAX_COMPARED}; the newest were compared. */
	truncated: boolean;
	/** Share of decisions the shadow would have made the same; null when none was compared. */
	agreementRate: number | null;
	/** flips[champion decision][shadow decision] = count. */
	flips: Record<Decision, Record<Decision, number>>;
	/** Not approved by the champion, approved by the shadow. */
	swapIns: SwapGroup;
	/** Approved by the champion, not by the shadow. */
	swapOuts: SwapGroup;
	meanProbability: { champion: number | null; shadow: number | null };
	correlation: { pearson: number | null; spearman: number | null };
	/** The shadow's probabilities against the champion's, over the champion's reference score bins. */
	psi: {
		value: number | null;
		bins: { label: string; champion: number; shadow: number; contribution: number }[];
	};
	/** Features by mean |shadow SHAP − champion SHAP| (log-odds), largest first. */
	shapDifferences: {
		feature: string;
		label: string;
		meanAbsDifference: number;
		meanAbsChampion: number;
		meanAbsShadow: number;
	}[];
}

/** The comparison over a window; 400 for a bad window, 404 for an unknown model or version, 409 for a version never in shadow. */
export async function compareShadow(
	deps: { db: Database; models: ModelRegistry },
	rawInput: ShadowComparisonInput,
	now = Date.now()
): Promise<ShadowComparison> {
	const input = shadowComparisonInputSchema.parse(rawInput);
	const champion = deps.models.resolve(input.model);
	const shadow = await shadowVersionOf(deps, input.model, input.version);
	const { from, to } = windowOf({ ...input, baseline: 'reference' }, now);
	const model = champion.manifest.model.id;
	const shadowVersion = shadow.manifest.model.version;
	const { rows, truncated } = await readComparedRows(deps.db, {
		kind: 'shadow',
		model,
		version: shadowVersion,
		from,
		to
	});
	return {
		model,
		shadowVersion,
		inShadow: shadow.status === 'shadow',
		window: { from: from.toISOString(), to: to.toISOString() },
		...compareRows(deps.models, champion, shadow, rows, truncated)
	};
}

/** Where the compared rows come from: a shadow's rows over a window, or one backtest's results. */
export type ComparisonSource =
	| { kind: 'shadow'; model: string; version: string; from: Date; to: Date }
	| { kind: 'backtest'; backtestId: string };

/** One recorded decision beside what the compared version said about the same applicant. */
export interface ComparedRow {
	championVersion: string;
	championProbability: number;
	championDecision: Decision;
	championShap: Uint8Array | null;
	shadowProbability: number;
	shadowDecision: Decision;
	shadowShap: Uint8Array;
	defaulted: boolean | null;
}

/** The figures of a comparison, whatever its source. */
export type ComparisonFigures = Omit<ShadowComparison, 'model' | 'shadowVersion' | 'inShadow' | 'window'>;

/** The newest {@link MAX_COMPARED} rows of a source, with the latest outcome of each. */
export async function readComparedRows(
	db: Database,
	source: ComparisonSource
): Promise<{ rows: ComparedRow[]; truncated: boolean }> {
	const defaulted = sql<
		boolean | null
	>`(select o.defaulted from outcomes o where o.prediction_id = ${predictions.id} order by o.version desc limit 1)`;
	const champion = {
		championVersion: predictions.modelVersion,
		championProbability: predictions.probability,
		championDecision: predictions.decision,
		championShap: predictions.shapValues,
		defaulted
	};
	const rows: ComparedRow[] =
		source.kind === 'shadow'
			? await db
					.select({
						...champion,
						shadowProbability: shadowPredictions.probability,
						shadowDecision: shadowPredictions.decision,
						shadowShap: shadowPredictions.shapValues
					})
					.from(shadowPredictions)
					.innerJoin(predictions, eq(predictions.id, shadowPredictions.predictionId))
					.where(
						and(
							eq(shadowPredictions.modelId, source.model),
							eq(shadowPredictions.shadowVersion, source.version),
							gte(shadowPredictions.decidedAt, source.from),
							lt(shadowPredictions.decidedAt, source.to)
						)
					)
					.orderBy(desc(shadowPredictions.decidedAt))
					.limit(MAX_COMPARED + 1)
			: await db
					.select({
						...champion,
						shadowProbability: backtestPredictions.probability,
						shadowDecision: backtestPredictions.decision,
						shadowShap: backtestPredictions.shapValues
					})
					.from(backtestPredictions)
					.innerJoin(predictions, eq(predictions.id, backtestPredictions.predictionId))
					.where(eq(backtestPredictions.backtestId, source.backtestId))
					.orderBy(desc(predictions.createdAt))
					.limit(MAX_COMPARED + 1);
	const truncated = rows.length > MAX_COMPARED;
	if (truncated) rows.length = MAX_COMPARED;
	return { rows, truncated };
}

/**
 * The figures over compared rows: `champion` is the model's served version (its reference score
 * bins are the PSI's), `compared` the version whose answers are the rows' `shadow*` columns.
 */
export function compareRows(
	models: ModelRegistry,
	champion: ModelVersion,
	compared: ModelVersion,
	rows: readonly ComparedRow[],
	truncated: boolean
): ComparisonFigures {
	const model = champion.manifest.model.id;
	const shadow = compared;
	const flips = Object.fromEntries(
		decisions.map((c) => [c, Object.fromEntries(decisions.map((s) => [s, 0]))])
	) as Record<Decision, Record<Decision, number>>;
	const swapIns = emptyGroup();
	const swapOuts = emptyGroup();
	let agree = 0;
	const championP = new Float64Array(rows.length);
	const shadowP = new Float64Array(rows.length);
	const shadowFeatures = shadow.manifest.features;
	const featureNames = new Map<string, string>();
	for (const f of shadowFeatures) featureNames.set(f.name, f.label);
	const diff = new Map<string, { diff: number; champion: number; shadow: number }>();
	const championVersions = new Set<string>();
	const featuresOf = new Map<string, readonly { name: string; label: string }[] | null>();

	rows.forEach((row, i) => {
		championVersions.add(row.championVersion);
		const c = row.championDecision;
		const s = row.shadowDecision;
		flips[c][s] += 1;
		if (c === s) agree += 1;
		if (c !== 'approve' && s === 'approve') tally(swapIns, row.defaulted);
		if (c === 'approve' && s !== 'approve') tally(swapOuts, row.defaulted);
		championP[i] = row.championProbability;
		shadowP[i] = row.shadowProbability;

		let championFeatures = featuresOf.get(row.championVersion);
		if (championFeatures === undefined) {
			championFeatures = featuresOfVersion(models, model, row.championVersion);
			featuresOf.set(row.championVersion, championFeatures);
			for (const f of championFeatures ?? [])
				if (!featureNames.has(f.name)) featureNames.set(f.name, f.label);
		}
		const cs = new Map<string, number>();
		if (championFeatures && row.championShap) {
			const values = float64s(row.championShap);
			championFeatures.forEach((f, k) => cs.set(f.name, values[k] ?? 0));
		}
		const ss = new Map<string, number>();
		const shadowValues = float64s(row.shadowShap);
		shadowFeatures.forEach((f, k) => ss.set(f.name, shadowValues[k] ?? 0));
		for (const name of featureNames.keys()) {
			const a = cs.get(name) ?? 0;
			const b = ss.get(name) ?? 0;
			const entry = diff.get(name) ?? { diff: 0, champion: 0, shadow: 0 };
			entry.diff += Math.abs(b - a);
			entry.champion += Math.abs(a);
			entry.shadow += Math.abs(b);
			diff.set(name, entry);
		}
	});

	const n = rows.length;
	const edges = champion.manifest.reference.score.edges;
	const championBins = binCounts(championP, edges);
	const shadowBins = binCounts(shadowP, edges);
	const table = psiTable(championBins, shadowBins);
	return {
		championVersions: [...championVersions].sort(),
		count: n,
		truncated,
		agreementRate: n > 0 ? agree / n : null,
		flips,
		swapIns: finish(swapIns),
		swapOuts: finish(swapOuts),
		meanProbability: { champion: mean(championP), shadow: mean(shadowP) },
		correlation: { pearson: pearson(championP, shadowP), spearman: spearman(championP, shadowP) },
		psi: {
			value: n > 0 ? table.psi : null,
			bins: table.bins.map((bin, i) => ({
				label: binLabel(edges, i),
				champion: championBins[i] ?? 0,
				shadow: shadowBins[i] ?? 0,
				contribution: bin.contribution
			}))
		},
		shapDifferences:
			n === 0
				? []
				: [...diff]
						.map(([feature, d]) => ({
							feature,
							label: featureNames.get(feature) ?? feature,
							meanAbsDifference: d.diff / n,
							meanAbsChampion: d.champion / n,
							meanAbsShadow: d.shadow / n
						}))
						.sort((a, b) => b.meanAbsDifference - a.meanAbsDifference)
						.slice(0, TOP_FEATURES)
	};
}

/** The version to compare: the one named (404 if unknown, 409 if never in shadow), else the one in shadow now. */
async function shadowVersionOf(
	deps: { db: Database; models: ModelRegistry },
	model: string,
	version: string | undefined
): Promise<ModelVersion> {
	if (version === undefined) {
		const current = deps.models.shadowOf(model);
		if (!current) {
			throw new Conflict(`Model "${model}" has no version in shadow; name an earlier one with version.`);
		}
		return current;
	}
	const named = deps.models.resolve(model, version);
	if (named.status === 'shadow') return named;
	const [any] = await deps.db
		.select({ id: shadowPredictions.id })
		.from(shadowPredictions)
		.where(and(eq(shadowPredictions.modelId, model), eq(shadowPredictions.shadowVersion, version)))
		.limit(1);
	if (!any) throw new Conflict(`${model}@${version} is not in shadow and has no shadow predictions.`);
	return named;
}

function featuresOfVersion(
	models: ModelRegistry,
	model: string,
	version: string
): readonly { name: string; label: string }[] | null {
	try {
		return models.resolve(model, version).manifest.features;
	} catch {
		return null;
	}
}

function float64s(bytes: Uint8Array): Float64Array {
	const out = new Float64Array(Math.floor(bytes.byteLength / 8));
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
	return out;
}

function emptyGroup(): SwapGroup {
	return { count: 0, withOutcome: 0, bad: 0, badRate: null };
}

function tally(group: SwapGroup, defaulted: boolean | null): void {
	group.count += 1;
	if (defaulted === null || defaulted === undefined) return;
	group.withOutcome += 1;
	if (defaulted) group.bad += 1;
}

function finish(group: SwapGroup): SwapGroup {
	return { ...group, badRate: group.withOutcome > 0 ? group.bad / group.withOutcome : null };
}

/** Counts per bin of `edges`: [a, b) except the last, [a, b]; values outside go to the end bins. */
export function binCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
	const bins = new Array<number>(Math.max(1, edges.length - 1)).fill(0);
	for (let i = 0; i < values.length; i++) {
		const v = values[i] ?? 0;
		let k = 0;
		while (k < bins.length - 1 && v >= (edges[k + 1] ?? Infinity)) k++;
		bins[k] = (bins[k] ?? 0) + 1;
	}
	return bins;
}

function binLabel(edges: readonly number[], i: number): string {
	const last = i === edges.length - 2;
	return `[${edges[i]}, ${edges[i + 1]}${last ? ']' : ')'}`;
}

function mean(values: Float64Array): number | null {
	if (values.length === 0) return null;
	let total = 0;
	for (const v of values) total += v;
	return total / values.length;
}

/** Pearson's r; null for fewer than two pairs or a constant series. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
	const n = x.length;
	if (n < 2) return null;
	let mx = 0;
	let my = 0;
	for (let i = 0; i < n; i++) {
		mx += x[i] ?? 0;
		my += y[i] ?? 0;
	}
	mx /= n;
	my /= n;
	let sxy = 0;
	let sxx = 0;
	let syy = 0;
	for (let i = 0; i < n; i++) {
		const dx = (x[i] ?? 0) - mx;
		const dy = (y[i] ?? 0) - my;
		sxy += dx * dy;
		sxx += dx * dx;
		syy += dy * dy;
	}
	if (sxx === 0 || syy === 0) return null;
	return sxy / Math.sqrt(sxx * syy);
}

/** Spearman's ρ: Pearson's r of the ranks, ties given their average rank. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
	return pearson(ranks(x), ranks(y));
}

function ranks(values: ArrayLike<number>): Float64Array {
	const order = Array.from({ length: values.length }, (_, i) => i).sort(
		(a, b) => (values[a] ?? 0) - (values[b] ?? 0)
	);
	const out = new Float64Array(values.length);
	let i = 0;
	while (i < order.length) {
		let j = i;
		while (j + 1 < order.length && values[order[j + 1] as number] === values[order[i] as number]) j++;
		const rank = (i + j) / 2 + 1;
		for (let k = i; k <= j; k++) out[order[k] as number] = rank;
		i = j + 1;
	}
	return out;
}
