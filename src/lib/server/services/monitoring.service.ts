/**
 * What the monitoring page shows: API traffic of this instance (rolling windows), predictions
 * recorded by every instance (database), score distributions against each champion's
 * reference, the SLO traffic lights and the open alerts. Plain JSON values only, so the same
 * summary serves the page load and any API client.
 */
import { z } from 'zod';
import type { Core } from '../core-types';
import type { Alert } from '../db/schema';
import {
	populationStabilityIndex,
	predictionCount,
	predictionSeries,
	scoreCounts,
	type PredictionSlot
} from '../monitoring/prediction-stats';
import { MINUTE_MS, type RequestTotals } from '../monitoring/request-recorder';
import { evaluateSlos, type SloStatus } from '../monitoring/slo';
import { openAlerts } from './alerts.service';
import { checkReadiness } from './health.service';

export const monitoringRanges = ['hour', 'day'] as const;
export type MonitoringRange = (typeof monitoringRanges)[number];

export const summaryInputSchema = z.object({ range: z.enum(monitoringRanges).default('hour') });

/** Span and chart resolution of each range. */
const RANGES: Record<MonitoringRange, { spanMs: number; stepMs: number }> = {
	hour: { spanMs: 60 * MINUTE_MS, stepMs: MINUTE_MS },
	day: { spanMs: 24 * 60 * MINUTE_MS, stepMs: 15 * MINUTE_MS }
};

export interface RequestPoint extends Omit<RequestTotals, 'from' | 'to'> {
	at: number;
	perSecond: number;
}

export interface ScoreDistribution {
	model: string;
	version: string;
	samples: number;
	/** PSI against the reference, once there are enough samples to judge; null before. */
	psi: number | null;
	minSamples: number;
	bins: { from: number; to: number; observed: number; expected: number }[];
}

export interface AlertView {
	id: string;
	rule: Alert['rule'];
	key: string;
	severity: Alert['severity'];
	status: Alert['status'];
	summary: string;
	value: number | null;
	threshold: number | null;
	raisedAt: string;
	acknowledgedAt: string | null;
	acknowledgedBy: string | null;
	resolvedAt: string | null;
	notifiedAt: string | null;
	details: Record<string, unknown>;
}

export interface MonitoringSummary {
	generatedAt: string;
	range: MonitoringRange;
	stepSeconds: number;
	instance: string;
	requests: { series: RequestPoint[]; totals: RequestTotals; slo: RequestTotals };
	predictions: {
		series: PredictionSlot[];
		totals: { count: number; approve: number; review: number; decline: number };
	};
	scores: ScoreDistribution[];
	slos: SloStatus[];
	alerts: AlertView[];
}

export async function monitoringSummary(core: Core, range: MonitoringRange): Promise<MonitoringSummary> {
	const { env, monitoring, db } = core;
	const now = monitoring.now();
	const { spanMs, stepMs } = RANGES[range];
	const to = Math.ceil((now + 1) / stepMs) * stepMs;
	const from = to - spanMs;
	const sloFrom = now - env.SLO_WINDOW_MINUTES * MINUTE_MS;
	const trafficFrom = now - env.ALERT_NO_TRAFFIC_MINUTES * MINUTE_MS;

	const [series, scores, readiness, open, recent] = await Promise.all([
		predictionSeries(db, from, to, stepMs),
		scoreDistributions(core, from, to),
		checkReadiness(core),
		openAlerts(db),
		predictionCount(db, trafficFrom, now + MINUTE_MS)
	]);
	const sloTotals = monitoring.requests.totals(sloFrom, now + 1);
	const totals = series.reduce(
		(sum, slot) => ({
			count: sum.count + slot.count,
			approve: sum.approve + slot.approve,
			review: sum.review + slot.review,
			decline: sum.decline + slot.decline
		}),
		{ count: 0, approve: 0, review: 0, decline: 0 }
	);
	return {
		generatedAt: new Date(now).toISOString(),
		range,
		stepSeconds: stepMs / 1000,
		instance: monitoring.alerts.instance,
		requests: {
			series: monitoring.requests.series(from, to, stepMs).map(({ from: at, to: _to, ...rest }) => ({
				at,
				perSecond: rest.count / (stepMs / 1000),
				...rest
			})),
			totals: monitoring.requests.totals(from, to),
			slo: sloTotals
		},
		predictions: { series, totals },
		scores,
		slos: evaluateSlos(
			{
				p95Ms: env.SLO_P95_MS,
				errorRate: env.SLO_ERROR_RATE,
				windowMinutes: env.SLO_WINDOW_MINUTES,
				noTrafficMinutes: env.ALERT_NO_TRAFFIC_MINUTES,
				minRequests: env.ALERT_MIN_REQUESTS
			},
			{
				requests: sloTotals,
				ready: {
					ok: readiness.status === 'ready',
					failing: readiness.checks.filter((check) => !check.ok).map((check) => check.name)
				},
				recentPredictions: recent,
				noTrafficAlert: open.some((alert) => alert.rule === 'no_traffic')
			}
		),
		alerts: open.map(alertView)
	};
}

async function scoreDistributions(core: Core, from: number, to: number): Promise<ScoreDistribution[]> {
	const minSamples = core.env.ALERT_PSI_MIN_SAMPLES;
	return Promise.all(
		core.models.modelIds().map(async (id) => {
			const champion = core.models.resolve(id);
			const { edges, proportions } = champion.manifest.reference.score;
			const version = champion.manifest.model.version;
			const counts = await scoreCounts(core.db, { id, version, edges }, from, to);
			const samples = counts.reduce((sum, n) => sum + n, 0);
			return {
				model: id,
				version,
				samples,
				minSamples,
				psi: samples >= minSamples ? populationStabilityIndex(proportions, counts) : null,
				bins: proportions.map((expected, bin) => ({
					from: edges[bin] ?? 0,
					to: edges[bin + 1] ?? 1,
					observed: samples === 0 ? 0 : (counts[bin] ?? 0) / samples,
					expected
				}))
			};
		})
	);
}

export function alertView(alert: Alert): AlertView {
	return {
		id: alert.id,
		rule: alert.rule,
		key: alert.key,
		severity: alert.severity,
		status: alert.status,
		summary: alert.summary,
		value: alert.value,
		threshold: alert.threshold,
		raisedAt: alert.raisedAt.toISOString(),
		acknowledgedAt: alert.acknowledgedAt?.toISOString() ?? null,
		acknowledgedBy: alert.acknowledgedByName ?? alert.acknowledgedBy,
		resolvedAt: alert.resolvedAt?.toISOString() ?? null,
		notifiedAt: alert.notifiedAt?.toISOString() ?? null,
		details: alert.details
	};
}
