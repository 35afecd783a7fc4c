/**
 * What a drift-and-performance report says, per model: for its champion and every version that
 * scored in the period, the volume (decisions by kind), the PSI and severity of each feature and
 * of the score against the manifest's reference, the performance its probabilities estimate for
 * the period's decisions, and the realised performance of the cohort that has just matured (the
 * same period `PERFORMANCE_MATURITY_MONTHS` earlier). Computed with the drift and performance
 * services, so a report says what `/monitoring/drift` and `/monitoring/performance` would.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db';
import { predictions, type ReportKind } from '../../db/schema';
import type { Severity, SeverityBands } from '../../monitoring/drift/statistics';
import { computeDrift } from '../drift.service';
import type { ModelRegistry } from '../models.service';
import { modelPerformance, monthsBefore, type PeriodPerformance } from '../performance.service';

const DAY_MS = 86_400_000;

export interface ReportPeriod {
	from: Date;
	to: Date;
}

/**
 * The period an occurrence at `at` reports on: the last whole UTC day before it (daily), or the
 * last whole week, Monday to Sunday in UTC (weekly).
 */
export function periodOf(kind: ReportKind, at: Date): ReportPeriod {
	const today = Math.floor(at.getTime() / DAY_MS) * DAY_MS;
	if (kind === 'daily') return { from: new Date(today - DAY_MS), to: new Date(today) };
	const weekday = (new Date(today).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
	const monday = today - weekday * DAY_MS;
	return { from: new Date(monday - 7 * DAY_MS), to: new Date(monday) };
}

export interface FeatureLine {
	feature: string;
	kind: 'numeric' | 'categorical';
	psi: number;
	/** Null when the period holds no present value of the feature. */
	severity: Severity | null;
	/** Share of missing values in the period minus the reference's. */
	missingRateChange: number;
}

export interface RealisedLine {
	/** The decisions whose outcomes are counted: the same period, maturity months earlier. */
	cohort: { from: string; to: string };
	n: number;
	defaults: number;
	defaultRate: number;
	auc: number | null;
	aucLower: number | null;
	aucUpper: number | null;
	gini: number | null;
	ks: number | null;
	brier: number | null;
	badRateApproved: number | null;
	/** What the probabilities expected of these same loans. */
	expectedAuc: number | null;
	expectedBadRateApproved: number | null;
}

export interface VersionReport {
	version: string;
	champion: boolean;
	/** False for a version that scored in the period but is not loaded here (no manifest: no drift). */
	loaded: boolean;
	volume: { predictions: number; approve: number; review: number; decline: number };
	drift: { score: { psi: number; severity: Severity | null }; features: FeatureLine[] } | null;
	estimated: {
		auc: number | null;
		defaultRate: number | null;
		badRateApproved: number | null;
		approvalRate: number | null;
	} | null;
	/** Null until a matured loan of the cohort has an outcome. */
	realised: RealisedLine | null;
}

export interface ModelReport {
	model: string;
	name: string | null;
	/** The champion when the report was built; null for a model not loaded here. */
	champion: string | null;
	versions: VersionReport[];
}

export interface ReportContent {
	kind: ReportKind;
	period: { from: string; to: string };
	generatedAt: string;
	bands: SeverityBands;
	maturityMonths: number;
	models: ModelReport[];
}

export interface ContentDependencies {
	db: Database;
	models: ModelRegistry;
	bands: SeverityBands;
	maturityMonths: number;
}

interface VolumeRow {
	model: string;
	version: string;
	decision: string;
	n: number | string;
}

type Volume = VersionReport['volume'];

/** Builds the report of one period; `now` is when it is built (maturity is counted from it). */
export async function buildReportContent(
	deps: ContentDependencies,
	kind: ReportKind,
	period: ReportPeriod,
	now = new Date()
): Promise<ReportContent> {
	const volumes = await periodVolumes(deps.db, period);
	const ids = [...new Set([...deps.models.modelIds(), ...volumes.keys()])].sort();
	const models: ModelReport[] = [];
	for (const id of ids) {
		const loaded = deps.models.modelIds().includes(id);
		const championVersion = loaded ? deps.models.resolve(id) : null;
		const champion = championVersion?.manifest.model.version ?? null;
		const traffic = volumes.get(id) ?? new Map<string, Volume>();
		const versions = [...new Set([...(champion ? [champion] : []), ...traffic.keys()])].sort((a, b) =>
			a === champion ? -1 : b === champion ? 1 : a.localeCompare(b)
		);
		const lines: VersionReport[] = [];
		for (const version of versions) {
			lines.push(
				await versionReport(deps, kind, period, now, id, version, champion === version, traffic.get(version))
			);
		}
		models.push({
			model: id,
			name: championVersion?.manifest.model.name ?? null,
			champion,
			versions: lines
		});
	}
	return {
		kind,
		period: { from: period.from.toISOString(), to: period.to.toISOString() },
		generatedAt: now.toISOString(),
		bands: deps.bands,
		maturityMonths: deps.maturityMonths,
		models
	};
}

async function versionReport(
	deps: ContentDependencies,
	kind: ReportKind,
	period: ReportPeriod,
	now: Date,
	model: string,
	version: string,
	champion: boolean,
	volume: Volume | undefined
): Promise<VersionReport> {
	const loaded = deps.models.has(model, version);
	const base = {
		version,
		champion,
		loaded,
		volume: volume ?? { predictions: 0, approve: 0, review: 0, decline: 0 }
	};
	if (!loaded) return { ...base, drift: null, estimated: null, realised: null };
	const drift = await computeDrift(
		{ db: deps.db, models: deps.models, bands: deps.bands },
		{ model, version, from: period.from.toISOString(), to: period.to.toISOString() },
		now.getTime()
	);
	const window = kind === 'daily' ? 'day' : 'week';
	const performanceOf = async (range: ReportPeriod): Promise<PeriodPerformance | null> => {
		const report = await modelPerformance(
			deps.db,
			deps.models,
			{
				model,
				version,
				from: day(range.from),
				to: day(new Date(range.to.getTime() - DAY_MS)),
				by: 'window',
				window
			},
			{ maturityMonths: deps.maturityMonths, now }
		);
		return report.versions[0]?.overall ?? null;
	};
	const current = await performanceOf(period);
	const cohort = {
		from: monthsBefore(period.from, deps.maturityMonths),
		to: monthsBefore(period.to, deps.maturityMonths)
	};
	const realised = (await performanceOf(cohort))?.realised ?? null;
	return {
		...base,
		drift: {
			score: { psi: drift.score.psi, severity: drift.score.severity },
			features: drift.features.map((feature) => ({
				feature: feature.feature,
				kind: feature.kind,
				psi: feature.psi,
				severity: feature.severity,
				missingRateChange: feature.missingRate.change
			}))
		},
		estimated: current
			? {
					auc: current.estimated.auc,
					defaultRate: current.estimated.defaultRate,
					badRateApproved: current.estimated.badRateApproved,
					approvalRate: current.approvalRate
				}
			: null,
		realised: realised
			? {
					cohort: { from: cohort.from.toISOString(), to: cohort.to.toISOString() },
					n: realised.n,
					defaults: realised.defaults,
					defaultRate: realised.defaultRate,
					auc: realised.auc?.value ?? null,
					aucLower: realised.auc?.lower ?? null,
					aucUpper: realised.auc?.upper ?? null,
					gini: realised.gini,
					ks: realised.ks,
					brier: realised.brier,
					badRateApproved: realised.badRateApproved,
					expectedAuc: realised.expected.auc,
					expectedBadRateApproved: realised.expected.badRateApproved
				}
			: null
	};
}

/** Predictions of the period per model, version and decision (through the created_at index). */
async function periodVolumes(db: Database, period: ReportPeriod): Promise<Map<string, Map<string, Volume>>> {
	const result = await db.execute(sql`
		select ${predictions.modelId} as model, ${predictions.modelVersion} as version,
			${predictions.decision}::text as decision, count(*)::int as n
		from ${predictions}
		where ${predictions.createdAt} >= ${period.from.toISOString()}::timestamptz
			and ${predictions.createdAt} < ${period.to.toISOString()}::timestamptz
		group by 1, 2, 3`);
	const volumes = new Map<string, Map<string, Volume>>();
	for (const row of rowsOf<VolumeRow>(result)) {
		const versions = volumes.get(row.model) ?? new Map<string, Volume>();
		const volume = versions.get(row.version) ?? { predictions: 0, approve: 0, review: 0, decline: 0 };
		const n = Number(row.n);
		volume.predictions += n;
		if (row.decision === 'approve' || row.decision === 'review' || row.decision === 'decline')
			volume[row.decision] += n;
		versions.set(row.version, volume);
		volumes.set(row.model, versions);
	}
	return volumes;
}

const day = (at: Date) => at.toISOString().slice(0, 10);

/** The worst severity anywhere in a report (score or feature), for listings; null when none. */
export function worstSeverity(content: ReportContent): Severity | null {
	const order: Severity[] = ['stable', 'watch', 'act'];
	let worst = -1;
	for (const model of content.models)
		for (const version of model.versions) {
			if (!version.drift) continue;
			for (const severity of [version.drift.score.severity, ...version.drift.features.map((f) => f.severity)])
				if (severity) worst = Math.max(worst, order.indexOf(severity));
		}
	return worst < 0 ? null : (order[worst] ?? null);
}
