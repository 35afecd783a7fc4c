/**
 * The alert engine: every `ALERT_EVAL_INTERVAL_SECONDS` (at most 30 s, so an alert fires within a
 * minute of its condition) it checks each rule and raises, refreshes or resolves its alert:
 *
 * - `slo_latency` — P95 latency of this instance's scoring requests (API and portal scoring) over
 *   the SLO window above `SLO_P95_MS` (with at least `ALERT_MIN_REQUESTS` requests);
 * - `error_spike` — share of 5xx answers over the SLO window above `ALERT_ERROR_RATE`;
 * - `no_traffic` — no prediction recorded (by any instance) for `ALERT_NO_TRAFFIC_MINUTES`, during
 *   `ALERT_TRAFFIC_HOURS` or after traffic was seen in the previous 24 hours;
 * - `score_shift` — PSI of each champion's recent probabilities against its manifest's reference
 *   score distribution above `ALERT_PSI_THRESHOLD`, once `ALERT_PSI_MIN_SAMPLES` are in;
 * - `feature_drift` — PSI of each input feature of each live version (champion, challengers,
 *   shadows) over the last `ALERT_DRIFT_WINDOW_HOURS` of drift counts against the manifest's
 *   reference, at or above the raise threshold with `ALERT_DRIFT_MIN_VALUES` values; it resolves
 *   only below the lower resolve threshold (between the two an open alert stays open, a closed one
 *   stays closed);
 * - `performance_drop` — AUC of each live version (realised over matured outcomes, else estimated
 *   from the probabilities) below the manifest's holdout AUC minus `ALERT_AUC_DROP`; it resolves
 *   once back within `ALERT_AUC_RESOLVE_DROP`. Measured every `ALERT_AUC_EVAL_MINUTES` only.
 *
 * The last two publish what they measure as the `credible_feature_psi` and `credible_model_auc`
 * gauges of `/metrics` (nothing is computed at scrape time).
 *
 * The first two watch this instance's traffic, so their alerts are keyed by instance; the others
 * read the shared database and are raised once for all instances (see alerts.service.ts).
 */
import { hostname } from 'node:os';
import type { Database } from '../db';
import type { Alert, AlertRule } from '../db/schema';
import { driftAlertThresholds, type Env } from '../env';
import { logger } from '../logger';
import {
	publishFeaturePsi,
	publishModelAuc,
	type FeaturePsiSample,
	type ModelAucSample
} from '../observability/metrics';
import { computeDrift, type FeatureDriftView } from '../services/drift.service';
import type { ModelRegistry, ModelVersion } from '../services/models.service';
import { modelPerformance, monthsBefore, performanceInput } from '../services/performance.service';
import {
	markNotified,
	openAlerts,
	raiseAlert,
	refreshAlert,
	resolveAlert,
	staleAlerts,
	type AlertCondition
} from '../services/alerts.service';
import { lastPredictionAt, populationStabilityIndex, scoreCounts } from './prediction-stats';
import { MINUTE_MS, type RequestRecorder } from './request-recorder';
import { formatLatency as formatMs, formatShare as formatPercent } from '../../monitoring';
import type { AlertEvent, AlertNotifier } from './webhook';

/** Timer functions, injectable so tests can drive the evaluator with their own clock. */
export interface Timers {
	setInterval(callback: () => void, ms: number): unknown;
	clearInterval(handle: unknown): void;
}

export const systemTimers: Timers = {
	setInterval: (callback, ms) => {
		const handle = setInterval(callback, ms);
		// The evaluator must never keep a process alive on its own.
		handle.unref();
		return handle;
	},
	clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout)
};

export type AlertConfig = Pick<
	Env,
	| 'SLO_P95_MS'
	| 'SLO_WINDOW_MINUTES'
	| 'ALERT_EVAL_INTERVAL_SECONDS'
	| 'ALERT_MIN_REQUESTS'
	| 'ALERT_ERROR_RATE'
	| 'ALERT_NO_TRAFFIC_MINUTES'
	| 'ALERT_TRAFFIC_HOURS'
	| 'ALERT_PSI_THRESHOLD'
	| 'ALERT_PSI_MIN_SAMPLES'
	| 'ALERT_PSI_WINDOW_MINUTES'
	| 'DRIFT_PSI_WATCH'
	| 'DRIFT_PSI_ACT'
	| 'ALERT_DRIFT_WINDOW_HOURS'
	| 'ALERT_DRIFT_MIN_VALUES'
	| 'ALERT_DRIFT_RAISE_PSI'
	| 'ALERT_DRIFT_RESOLVE_PSI'
	| 'PERFORMANCE_MATURITY_MONTHS'
	| 'ALERT_AUC_DROP'
	| 'ALERT_AUC_RESOLVE_DROP'
	| 'ALERT_AUC_WINDOW_DAYS'
	| 'ALERT_AUC_MIN_OUTCOMES'
	| 'ALERT_AUC_MIN_PREDICTIONS'
	| 'ALERT_AUC_EVAL_MINUTES'
>;

export interface AlertEngineOptions {
	db: Database;
	recorder: RequestRecorder;
	models: ModelRegistry;
	config: AlertConfig;
	/** Sends raised and resolved alerts somewhere (the webhook); none when absent. */
	notifier?: AlertNotifier;
	/** This instance's name, the key of its per-instance alerts. */
	instance?: string;
	clock?: () => number;
	timers?: Timers;
}

/**
 * One rule's verdict: a condition that holds, or why it does not. `held` marks a measurement in a
 * rule's hysteresis band: an open alert stays open (refreshed with it), none is raised.
 */
export type RuleCheck =
	| { firing: true; condition: AlertCondition }
	| { firing: false; rule: AlertRule; key: string; reason: string; held?: AlertCondition };

export interface Transition {
	change: 'raised' | 'resolved';
	alert: Alert;
}

const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Versions that receive traffic: the champion and the challengers and shadows scored beside it. */
const LIVE_STATES: ReadonlySet<ModelVersion['status']> = new Set(['champion', 'challenger', 'shadow']);

/** Rules whose alerts belong to one instance. */
const PER_INSTANCE_RULES: readonly AlertRule[] = ['slo_latency', 'error_spike'];

/** A name for this process that stays readable in the portal: host and process id. */
export function defaultInstanceName(): string {
	return `${process.env.HOSTNAME || hostname()}:${process.pid}`;
}

export class AlertEngine {
	readonly instance: string;
	readonly #options: AlertEngineOptions;
	readonly #clock: () => number;
	readonly #timers: Timers;
	readonly #startedAt: number;
	#handle: unknown;
	#running: Promise<Transition[]> | undefined;
	/** When the performance rule last measured (it reads whole windows of predictions). */
	#performanceAt: number | undefined;
	readonly #deliveries = new Set<Promise<void>>();

	constructor(options: AlertEngineOptions) {
		this.#options = options;
		this.#clock = options.clock ?? Date.now;
		this.#timers = options.timers ?? systemTimers;
		this.instance = options.instance ?? defaultInstanceName();
		this.#startedAt = this.#clock();
	}

	get intervalMs(): number {
		return this.#options.config.ALERT_EVAL_INTERVAL_SECONDS * 1000;
	}

	/** Evaluates the rules every interval until `stop()`. */
	start(): void {
		if (this.#handle !== undefined) return;
		this.#handle = this.#timers.setInterval(() => {
			// Skip a tick rather than pile evaluations up behind a slow database.
			if (this.#running) return;
			void this.evaluate().catch((error: unknown) => logger.error({ err: error }, 'alert evaluation failed'));
		}, this.intervalMs);
	}

	/** Stops the timer and waits for the evaluation and deliveries under way. */
	async stop(): Promise<void> {
		if (this.#handle !== undefined) this.#timers.clearInterval(this.#handle);
		this.#handle = undefined;
		await this.#running?.catch(() => undefined);
		await this.settled();
	}

	/** Resolves once the webhook deliveries started so far have finished. */
	async settled(): Promise<void> {
		await Promise.all([...this.#deliveries]);
	}

	/** Runs every rule once and applies the changes; returns what was raised or resolved here. */
	evaluate(): Promise<Transition[]> {
		this.#running ??= this.#evaluate().finally(() => {
			this.#running = undefined;
		});
		return this.#running;
	}

	async #evaluate(): Promise<Transition[]> {
		const now = this.#clock();
		const at = new Date(now);
		const { db } = this.#options;
		const checks = [this.checkLatency(now), this.checkErrors(now), ...(await this.#databaseChecks(now))];
		const transitions: Transition[] = [];
		for (const check of checks) {
			if (check.firing) {
				const raised = await raiseAlert(db, check.condition, at);
				if (raised) transitions.push({ change: 'raised', alert: raised });
				else await refreshAlert(db, check.condition, at);
			} else if (check.held) {
				await refreshAlert(db, check.held, at);
			} else {
				const resolved = await resolveAlert(db, check.rule, check.key, at, check.reason);
				if (resolved) transitions.push({ change: 'resolved', alert: resolved });
			}
		}
		// Alerts of an instance that stopped evaluating (shut down, or restarted under a new name).
		const staleBefore = new Date(now - Math.max(3 * this.intervalMs, 2 * MINUTE_MS));
		for (const stale of await staleAlerts(db, PER_INSTANCE_RULES, staleBefore, this.instance)) {
			const resolved = await resolveAlert(db, stale.rule, stale.key, at, 'instance stopped reporting');
			if (resolved) transitions.push({ change: 'resolved', alert: resolved });
		}
		for (const { change, alert } of transitions) {
			logger[change === 'raised' ? 'warn' : 'info'](
				{ alertId: alert.id, rule: alert.rule, key: alert.key, severity: alert.severity },
				`alert ${change}: ${alert.summary}`
			);
			this.#notify(change === 'raised' ? 'alert.raised' : 'alert.resolved', alert);
		}
		return transitions;
	}

	/** Sends the webhook without holding up the evaluator. */
	#notify(event: AlertEvent, alert: Alert): void {
		const { notifier, db } = this.#options;
		if (!notifier) return;
		const delivery = notifier(event, alert)
			.then(async (ok) => {
				if (ok) await markNotified(db, alert.id, new Date(this.#clock()));
			})
			.catch((error: unknown) =>
				logger.warn({ err: error, alertId: alert.id }, 'alert notification not recorded')
			)
			.finally(() => this.#deliveries.delete(delivery));
		this.#deliveries.add(delivery);
	}

	#window(now: number) {
		const { SLO_WINDOW_MINUTES } = this.#options.config;
		return this.#options.recorder.totals(now - SLO_WINDOW_MINUTES * MINUTE_MS, now);
	}

	checkLatency(now: number): RuleCheck {
		const { SLO_P95_MS, ALERT_MIN_REQUESTS, SLO_WINDOW_MINUTES } = this.#options.config;
		const window = this.#window(now);
		const rule = 'slo_latency';
		if (window.count < ALERT_MIN_REQUESTS || window.p95 === null)
			return { firing: false, rule, key: this.instance, reason: 'too few requests to judge' };
		if (window.p95 <= SLO_P95_MS)
			return { firing: false, rule, key: this.instance, reason: `P95 back to ${formatMs(window.p95)}` };
		return {
			firing: true,
			condition: {
				rule,
				key: this.instance,
				severity: 'warning',
				summary: `P95 latency ${formatMs(window.p95)} over the last ${SLO_WINDOW_MINUTES} min exceeds the ${formatMs(SLO_P95_MS)} objective`,
				value: window.p95,
				threshold: SLO_P95_MS,
				details: { instance: this.instance, requests: window.count, p50: window.p50, p99: window.p99 }
			}
		};
	}

	checkErrors(now: number): RuleCheck {
		const { ALERT_ERROR_RATE, ALERT_MIN_REQUESTS, SLO_WINDOW_MINUTES } = this.#options.config;
		const window = this.#window(now);
		const rule = 'error_spike';
		if (window.count < ALERT_MIN_REQUESTS || window.errorRate === null)
			return { firing: false, rule, key: this.instance, reason: 'too few requests to judge' };
		if (window.errorRate <= ALERT_ERROR_RATE)
			return {
				firing: false,
				rule,
				key: this.instance,
				reason: `error rate back to ${formatPercent(window.errorRate)}`
			};
		return {
			firing: true,
			condition: {
				rule,
				key: this.instance,
				severity: 'critical',
				summary: `${formatPercent(window.errorRate)} of scoring requests failed (5xx) over the last ${SLO_WINDOW_MINUTES} min`,
				value: window.errorRate,
				threshold: ALERT_ERROR_RATE,
				details: {
					instance: this.instance,
					requests: window.count,
					serverErrors: window.serverErrors,
					clientErrors: window.clientErrors
				}
			}
		};
	}

	async #databaseChecks(now: number): Promise<RuleCheck[]> {
		return [
			await this.checkTraffic(now),
			...(await this.checkScoreShift(now)),
			...(await isolated('feature_drift', () => this.checkFeatureDrift(now))),
			...(await isolated('performance_drop', () => this.checkPerformance(now)))
		];
	}

	/** Every live version of every model, champion first. */
	#liveVersions(): ModelVersion[] {
		const { models } = this.#options;
		return models.modelIds().flatMap((id) =>
			models
				.versionsOf(id)
				.filter((version) => LIVE_STATES.has(version.status))
				.sort((a, b) => Number(b.status === 'champion') - Number(a.status === 'champion'))
		);
	}

	/**
	 * PSI of every input feature of every live version over the last `ALERT_DRIFT_WINDOW_HOURS`
	 * whole hours (the current one included), from the drift service's hourly counts; publishes
	 * the judged ones as `credible_feature_psi`.
	 */
	async checkFeatureDrift(now: number): Promise<RuleCheck[]> {
		const { config, db, models } = this.#options;
		const { ALERT_DRIFT_WINDOW_HOURS: hours, ALERT_DRIFT_MIN_VALUES: minValues } = config;
		const { raise, resolve } = driftAlertThresholds(config);
		const rule = 'feature_drift';
		const to = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
		const from = to - hours * HOUR_MS;
		const checks: RuleCheck[] = [];
		const samples: FeaturePsiSample[] = [];
		for (const live of this.#liveVersions()) {
			const { id: model, version } = live.manifest.model;
			const view = await computeDrift(
				{ db, models, bands: { watch: config.DRIFT_PSI_WATCH, act: config.DRIFT_PSI_ACT } },
				{ model, version, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
				now
			);
			for (const feature of view.features) {
				const key = `${model}/${version}/${feature.feature}`;
				const values = valuesOf(feature);
				if (values < minValues) {
					checks.push({
						firing: false,
						rule,
						key,
						reason: `fewer than ${minValues} values of ${feature.feature} in the last ${hours} h`
					});
					continue;
				}
				const { psi } = feature;
				samples.push({ model, version, feature: feature.feature, psi });
				const condition: AlertCondition = {
					rule,
					key,
					severity: 'warning',
					summary: `Input ${feature.feature} of ${model}/${version} drifted: PSI ${psi.toFixed(2)} against the training reference over the last ${hours} h (${values} values)`,
					value: psi,
					threshold: raise,
					details: {
						model,
						version,
						feature: feature.feature,
						kind: feature.kind,
						values,
						windowHours: hours,
						resolveBelow: resolve,
						missingRate: feature.missingRate,
						bins: feature.bins.map((bin) => ({
							label: bin.label,
							expected: bin.expected,
							actual: bin.actual,
							count: bin.count
						}))
					}
				};
				if (psi >= raise) checks.push({ firing: true, condition });
				else if (psi < resolve)
					checks.push({ firing: false, rule, key, reason: `PSI back to ${psi.toFixed(3)}` });
				else
					checks.push({
						firing: false,
						rule,
						key,
						reason: `PSI ${psi.toFixed(3)} between ${resolve} and ${raise}`,
						held: condition
					});
			}
		}
		publishFeaturePsi(samples);
		return [...checks, ...(await this.#notLive(rule, checks))];
	}

	/**
	 * Resolutions for the open alerts of `rule` that no check covers: those of a version that is
	 * no longer live (retired, or back to registered) or of a bundle this instance no longer has.
	 */
	async #notLive(rule: AlertRule, checks: readonly RuleCheck[]): Promise<RuleCheck[]> {
		const covered = new Set(checks.map((check) => (check.firing ? check.condition.key : check.key)));
		return (await openAlerts(this.#options.db))
			.filter((alert) => alert.rule === rule && !covered.has(alert.key))
			.map((alert) => ({
				firing: false as const,
				rule,
				key: alert.key,
				reason: 'model version no longer live'
			}));
	}

	/**
	 * AUC of every live version against its manifest's holdout AUC: realised over the loans decided
	 * in the `ALERT_AUC_WINDOW_DAYS` before the maturity cut-off, when at least
	 * `ALERT_AUC_MIN_OUTCOMES` of them have an outcome; else estimated from the probabilities of the
	 * last `ALERT_AUC_WINDOW_DAYS` of decisions, with at least `ALERT_AUC_MIN_PREDICTIONS`. Runs at
	 * most every `ALERT_AUC_EVAL_MINUTES` (nothing is checked in between), and publishes the figures
	 * as `credible_model_auc`.
	 */
	async checkPerformance(now: number): Promise<RuleCheck[]> {
		const { config, db, models } = this.#options;
		if (
			this.#performanceAt !== undefined &&
			now - this.#performanceAt < config.ALERT_AUC_EVAL_MINUTES * MINUTE_MS
		)
			return [];
		this.#performanceAt = now;
		const rule = 'performance_drop';
		const days = config.ALERT_AUC_WINDOW_DAYS;
		const at = new Date(now);
		const cutoff = monthsBefore(at, config.PERFORMANCE_MATURITY_MONTHS);
		const checks: RuleCheck[] = [];
		const samples: ModelAucSample[] = [];
		for (const live of this.#liveVersions()) {
			const { id: model, version } = live.manifest.model;
			const key = `${model}/${version}`;
			const holdout = live.manifest.metrics.holdout.auc;
			samples.push({ model, version, kind: 'holdout', auc: holdout });
			const overall = async (end: Date) => {
				const report = await modelPerformance(
					db,
					models,
					performanceInput.parse({
						model,
						version,
						by: 'window',
						window: 'month',
						from: isoDay(new Date(end.getTime() - days * DAY_MS)),
						to: isoDay(end)
					}),
					{ maturityMonths: config.PERFORMANCE_MATURITY_MONTHS, now: at }
				);
				return report.versions.find((v) => v.version === version)?.overall;
			};
			const matured = (await overall(cutoff))?.realised;
			const recent = await overall(at);
			const realised =
				matured?.auc && matured.n >= config.ALERT_AUC_MIN_OUTCOMES
					? { auc: matured.auc.value, n: matured.n }
					: null;
			const estimated =
				recent?.estimated.auc != null && recent.predictions >= config.ALERT_AUC_MIN_PREDICTIONS
					? { auc: recent.estimated.auc, n: recent.predictions }
					: null;
			if (realised) samples.push({ model, version, kind: 'realised', auc: realised.auc });
			if (estimated) samples.push({ model, version, kind: 'estimated', auc: estimated.auc });
			const measured = realised
				? { kind: 'realised' as const, ...realised }
				: estimated
					? { kind: 'estimated' as const, ...estimated }
					: null;
			if (!measured) {
				checks.push({
					firing: false,
					rule,
					key,
					reason: `fewer than ${config.ALERT_AUC_MIN_OUTCOMES} matured outcomes and ${config.ALERT_AUC_MIN_PREDICTIONS} predictions in ${days} days`
				});
				continue;
			}
			const floor = holdout - config.ALERT_AUC_DROP;
			const recovered = holdout - config.ALERT_AUC_RESOLVE_DROP;
			const what =
				measured.kind === 'realised'
					? `realised AUC over ${measured.n} matured loans with an outcome`
					: `estimated AUC over the last ${measured.n} predictions (no matured outcomes yet)`;
			const condition: AlertCondition = {
				rule,
				key,
				severity: measured.kind === 'realised' ? 'critical' : 'warning',
				summary: `Performance of ${key} dropped: ${what} is ${measured.auc.toFixed(3)}, against ${holdout.toFixed(3)} on the holdout set`,
				value: measured.auc,
				threshold: floor,
				details: {
					model,
					version,
					kind: measured.kind,
					n: measured.n,
					holdoutAuc: holdout,
					resolveAtOrAbove: recovered,
					windowDays: days,
					realised: realised?.auc ?? null,
					estimated: estimated?.auc ?? null
				}
			};
			if (measured.auc < floor) checks.push({ firing: true, condition });
			else if (measured.auc >= recovered)
				checks.push({
					firing: false,
					rule,
					key,
					reason: `${measured.kind} AUC back to ${measured.auc.toFixed(3)}`
				});
			else
				checks.push({
					firing: false,
					rule,
					key,
					reason: `${measured.kind} AUC ${measured.auc.toFixed(3)} between ${floor.toFixed(3)} and ${recovered.toFixed(3)}`,
					held: condition
				});
		}
		publishModelAuc(samples);
		return [...checks, ...(await this.#notLive(rule, checks))];
	}

	async checkTraffic(now: number): Promise<RuleCheck> {
		const { ALERT_NO_TRAFFIC_MINUTES, ALERT_TRAFFIC_HOURS } = this.#options.config;
		const rule = 'no_traffic';
		const limitMs = ALERT_NO_TRAFFIC_MINUTES * MINUTE_MS;
		// Predictions stamped a little ahead (another instance's clock) still count as traffic.
		const last = await lastPredictionAt(this.#options.db, now - 24 * 60 * MINUTE_MS, now + MINUTE_MS);
		const inHours = ALERT_TRAFFIC_HOURS ? withinHours(ALERT_TRAFFIC_HOURS, new Date(now)) : false;
		if (last === null && !inHours)
			return {
				firing: false,
				rule,
				key: '',
				reason: 'no traffic expected (none in 24 h, outside traffic hours)'
			};
		// A fresh instance during traffic hours measures silence from its own start.
		const since = last ?? this.#startedAt;
		const silentMs = now - since;
		if (silentMs < limitMs) return { firing: false, rule, key: '', reason: 'traffic resumed' };
		const minutes = Math.floor(silentMs / MINUTE_MS);
		return {
			firing: true,
			condition: {
				rule,
				key: '',
				severity: 'warning',
				summary: `No prediction recorded for ${minutes} min${inHours ? ' during traffic hours' : ''}`,
				value: minutes,
				threshold: ALERT_NO_TRAFFIC_MINUTES,
				details: {
					lastPredictionAt: last === null ? null : new Date(last).toISOString(),
					trafficHours: inHours
				}
			}
		};
	}

	async checkScoreShift(now: number): Promise<RuleCheck[]> {
		const { ALERT_PSI_THRESHOLD, ALERT_PSI_MIN_SAMPLES, ALERT_PSI_WINDOW_MINUTES } = this.#options.config;
		const rule = 'score_shift';
		const checks: RuleCheck[] = [];
		for (const id of this.#options.models.modelIds()) {
			const champion = this.#options.models.resolve(id);
			const { edges, proportions } = champion.manifest.reference.score;
			const version = champion.manifest.model.version;
			const key = `${id}/${version}`;
			const counts = await scoreCounts(
				this.#options.db,
				{ id, version, edges },
				now - ALERT_PSI_WINDOW_MINUTES * MINUTE_MS,
				now + 1
			);
			const n = counts.reduce((sum, count) => sum + count, 0);
			if (n < ALERT_PSI_MIN_SAMPLES) {
				checks.push({
					firing: false,
					rule,
					key,
					reason: `fewer than ${ALERT_PSI_MIN_SAMPLES} recent predictions`
				});
				continue;
			}
			const psi = populationStabilityIndex(proportions, counts);
			if (psi <= ALERT_PSI_THRESHOLD) {
				checks.push({ firing: false, rule, key, reason: `PSI back to ${psi.toFixed(3)}` });
				continue;
			}
			checks.push({
				firing: true,
				condition: {
					rule,
					key,
					severity: 'warning',
					summary: `Score distribution of ${key} shifted: PSI ${psi.toFixed(2)} over the last ${n} predictions (${ALERT_PSI_WINDOW_MINUTES} min)`,
					value: psi,
					threshold: ALERT_PSI_THRESHOLD,
					details: {
						model: id,
						version,
						samples: n,
						observed: counts.map((count) => count / n),
						expected: proportions,
						edges
					}
				}
			});
		}
		return checks;
	}
}

/** True when `at` falls within `HH-HH` (UTC); a range like `20-06` wraps past midnight. */
export function withinHours(hours: string, at: Date): boolean {
	const [start = 0, end = 24] = hours.split('-').map(Number);
	const hour = at.getUTCHours();
	if (start === end) return true;
	return start < end ? hour >= start && hour < end : hour >= start || hour < end;
}

/**
 * A model-quality rule that fails (a bundle whose manifest the service cannot read, a query error)
 * is logged and skipped for this evaluation: its open alerts stay as they are and the other rules
 * still run.
 */
async function isolated(rule: AlertRule, check: () => Promise<RuleCheck[]>): Promise<RuleCheck[]> {
	try {
		return await check();
	} catch (error) {
		logger.error({ err: error, rule }, 'alert rule failed; skipped this evaluation');
		return [];
	}
}

/** Non-missing values counted in the window (the bins' counts; missing ones are outside the bins). */
function valuesOf(feature: FeatureDriftView): number {
	return feature.bins.reduce((sum, bin) => sum + bin.count, 0);
}

const isoDay = (at: Date) => at.toISOString().slice(0, 10);
