/**
 * The promotion guard: for `GUARD_PERIOD_SECONDS` after a promotion, every
 * `GUARD_EVAL_INTERVAL_SECONDS` each instance measures the new champion and rolls the model back
 * by itself when it breaks a limit:
 *
 * - error rate — share of the new champion's scoring calls on this instance answered with a 5xx,
 *   above `GUARD_MAX_ERROR_RATE`;
 * - latency — P95 of those calls above `GUARD_MAX_P95_MS`;
 * - score shift — PSI of the new champion's recorded scores (every instance's, from the database)
 *   against the previous champion's over the `GUARD_BASELINE_MINUTES` before the promotion, in
 *   the previous champion's reference score bins, above `GUARD_MAX_PSI`.
 *
 * Each limit is judged once `GUARD_MIN_SAMPLES` calls (or scores, on both sides) are in. The
 * rollback names the generation the promotion left (`expectedGeneration`), so of several instances
 * that see the breach at once exactly one rolls back; the others get a 409 and do nothing. The one
 * that rolled back raises the `promotion_guard` alert (critical, key `model/version`); the
 * rollback's audit entry has the actor `system` / `promotion-guard` and a reason that names the
 * limit and the figures.
 */
import type { Database } from '../db';
import type { Alert } from '../db/schema';
import type { Env } from '../env';
import { Conflict } from '../errors';
import { logger } from '../logger';
import { markNotified, raiseAlert } from '../services/alerts.service';
import type { AuditActor } from '../services/audit.service';
import {
	readPromotions,
	type ChangeContext,
	type PromotedChampion,
	type RegistryChange
} from '../services/model-registry.service';
import type { ModelRegistry } from '../services/models.service';
import { formatLatency, formatShare } from '../../monitoring';
import { systemTimers, type Timers } from './alerts';
import { psiTable } from './drift/statistics';
import { scoreCounts } from './prediction-stats';
import { MINUTE_MS, type RequestRecorder } from './request-recorder';
import type { AlertNotifier } from './webhook';

export type GuardConfig = Pick<
	Env,
	| 'GUARD_PERIOD_SECONDS'
	| 'GUARD_EVAL_INTERVAL_SECONDS'
	| 'GUARD_MAX_ERROR_RATE'
	| 'GUARD_MAX_P95_MS'
	| 'GUARD_MAX_PSI'
	| 'GUARD_MIN_SAMPLES'
	| 'GUARD_BASELINE_MINUTES'
>;

/** What rolls a model back and applies it here (the model lifecycle). */
export interface Rollbacker {
	rollback(actor: AuditActor, input: unknown, context: ChangeContext): Promise<RegistryChange>;
}

export const GUARD_ACTOR: AuditActor = { kind: 'system', id: 'promotion-guard', name: 'promotion guard' };

export type GuardLimit = 'error_rate' | 'p95_latency' | 'score_psi';

/** A limit the new champion broke, with the figures. */
export interface GuardBreach {
	limit: GuardLimit;
	value: number;
	threshold: number;
	samples: number;
	/** One sentence naming the limit and the figures: the rollback's reason and the alert's summary. */
	summary: string;
	details: Record<string, unknown>;
}

/** What one evaluation did about one guarded promotion. */
export interface GuardOutcome {
	promotion: PromotedChampion;
	breach: GuardBreach | null;
	/** True on the instance whose rollback went through. */
	rolledBack: boolean;
	alert: Alert | null;
}

export interface PromotionGuardOptions {
	db: Database;
	recorder: RequestRecorder;
	models: ModelRegistry;
	rollback: Rollbacker;
	config: GuardConfig;
	instance: string;
	notifier?: AlertNotifier;
	clock?: () => number;
	timers?: Timers;
}

export class PromotionGuard {
	readonly #options: PromotionGuardOptions;
	readonly #clock: () => number;
	readonly #timers: Timers;
	#handle: unknown;
	#running: Promise<GuardOutcome[]> | undefined;

	constructor(options: PromotionGuardOptions) {
		this.#options = options;
		this.#clock = options.clock ?? Date.now;
		this.#timers = options.timers ?? systemTimers;
	}

	get enabled(): boolean {
		return this.#options.config.GUARD_PERIOD_SECONDS > 0;
	}

	/** Evaluates every interval until `stop()`; does nothing when the guard is off. */
	start(): void {
		if (!this.enabled || this.#handle !== undefined) return;
		this.#handle = this.#timers.setInterval(() => {
			if (this.#running) return;
			void this.evaluate().catch((error: unknown) =>
				logger.error({ err: error }, 'promotion guard evaluation failed')
			);
		}, this.#options.config.GUARD_EVAL_INTERVAL_SECONDS * 1000);
	}

	async stop(): Promise<void> {
		if (this.#handle !== undefined) this.#timers.clearInterval(this.#handle);
		this.#handle = undefined;
		await this.#running?.catch(() => undefined);
	}

	/** Measures every promotion still in its guard period; rolls back those that broke a limit. */
	evaluate(): Promise<GuardOutcome[]> {
		this.#running ??= this.#evaluate().finally(() => {
			this.#running = undefined;
		});
		return this.#running;
	}

	async #evaluate(): Promise<GuardOutcome[]> {
		if (!this.enabled) return [];
		const now = this.#clock();
		const periodMs = this.#options.config.GUARD_PERIOD_SECONDS * 1000;
		const outcomes: GuardOutcome[] = [];
		for (const promotion of await readPromotions(this.#options.db, new Date(now - periodMs))) {
			const breach = await this.measure(promotion, now);
			if (!breach) {
				outcomes.push({ promotion, breach, rolledBack: false, alert: null });
				continue;
			}
			outcomes.push(await this.#rollBack(promotion, breach, now));
		}
		return outcomes;
	}

	/** The first limit the promotion's new champion breaks at `now`, or null. */
	async measure(promotion: PromotedChampion, now: number): Promise<GuardBreach | null> {
		const { config, recorder } = this.#options;
		const { model, champion } = promotion;
		const since = promotion.promotedAt.getTime();
		const calls = recorder.modelTotals(`${model}@${champion}`, since, now + 1);
		const where = `${model}@${champion} on ${this.#options.instance}`;
		if (calls.count >= config.GUARD_MIN_SAMPLES) {
			if (calls.errorRate !== null && calls.errorRate > config.GUARD_MAX_ERROR_RATE) {
				return {
					limit: 'error_rate',
					value: calls.errorRate,
					threshold: config.GUARD_MAX_ERROR_RATE,
					samples: calls.count,
					summary: `error rate ${formatShare(calls.errorRate)} (${calls.serverErrors} of ${calls.count} scoring calls answered 5xx) of ${where} since the promotion exceeds the limit of ${formatShare(config.GUARD_MAX_ERROR_RATE)} (GUARD_MAX_ERROR_RATE)`,
					details: { instance: this.#options.instance, calls: calls.count, serverErrors: calls.serverErrors }
				};
			}
			if (calls.p95 !== null && calls.p95 > config.GUARD_MAX_P95_MS) {
				return {
					limit: 'p95_latency',
					value: calls.p95,
					threshold: config.GUARD_MAX_P95_MS,
					samples: calls.count,
					summary: `P95 latency ${formatLatency(calls.p95)} over ${calls.count} scoring calls of ${where} since the promotion exceeds the limit of ${formatLatency(config.GUARD_MAX_P95_MS)} (GUARD_MAX_P95_MS)`,
					details: { instance: this.#options.instance, calls: calls.count, p50: calls.p50, p99: calls.p99 }
				};
			}
		}
		return this.#measureScores(promotion, now);
	}

	async #measureScores(promotion: PromotedChampion, now: number): Promise<GuardBreach | null> {
		const { config, db, models } = this.#options;
		const { model, champion, previous } = promotion;
		const before = models.versionsOf(model).find((v) => v.manifest.model.version === previous);
		if (!before) return null;
		const edges = before.manifest.reference.score.edges;
		const since = promotion.promotedAt.getTime();
		const baseline = await scoreCounts(
			db,
			{ id: model, version: previous, edges },
			since - config.GUARD_BASELINE_MINUTES * MINUTE_MS,
			since
		);
		const current = await scoreCounts(db, { id: model, version: champion, edges }, since, now + 1);
		const n = sum(current);
		const m = sum(baseline);
		if (n < config.GUARD_MIN_SAMPLES || m < config.GUARD_MIN_SAMPLES) return null;
		const { psi } = psiTable(baseline, current);
		if (psi <= config.GUARD_MAX_PSI) return null;
		return {
			limit: 'score_psi',
			value: psi,
			threshold: config.GUARD_MAX_PSI,
			samples: n,
			summary: `score PSI ${psi.toFixed(3)} of ${model}@${champion} (${n} scores since the promotion) against ${model}@${previous} (${m} scores in the ${config.GUARD_BASELINE_MINUTES} min before it) exceeds the limit of ${config.GUARD_MAX_PSI} (GUARD_MAX_PSI)`,
			details: { scores: n, baselineScores: m, edges, current, baseline }
		};
	}

	async #rollBack(promotion: PromotedChampion, breach: GuardBreach, now: number): Promise<GuardOutcome> {
		const { model, champion, previous, generation } = promotion;
		const reason = `Promotion guard: ${breach.summary}; rolled back to ${previous}.`;
		try {
			await this.#options.rollback.rollback(
				GUARD_ACTOR,
				{ model, reason: reason.slice(0, 2000), expectedGeneration: generation },
				{}
			);
		} catch (error) {
			// Another instance rolled back first, or someone changed the registry meanwhile.
			if (error instanceof Conflict) {
				logger.info({ model, champion, limit: breach.limit }, 'promotion guard: the registry moved on');
				return { promotion, breach, rolledBack: false, alert: null };
			}
			throw error;
		}
		logger.warn({ model, champion, restored: previous, limit: breach.limit }, reason);
		const alert = await raiseAlert(
			this.#options.db,
			{
				rule: 'promotion_guard',
				key: `${model}/${champion}`,
				severity: 'critical',
				summary: `${model}@${champion} rolled back to ${previous}: ${breach.summary}`,
				value: breach.value,
				threshold: breach.threshold,
				details: {
					model,
					version: champion,
					restored: previous,
					limit: breach.limit,
					samples: breach.samples,
					promotedAt: promotion.promotedAt.toISOString(),
					generation,
					instance: this.#options.instance,
					...breach.details
				}
			},
			new Date(now)
		);
		if (alert) this.#notify(alert, now);
		return { promotion, breach, rolledBack: true, alert };
	}

	#notify(alert: Alert, now: number): void {
		const { notifier, db } = this.#options;
		if (!notifier) return;
		void notifier('alert.raised', alert)
			.then(async (ok) => {
				if (ok) await markNotified(db, alert.id, new Date(now));
			})
			.catch((error: unknown) =>
				logger.warn({ err: error, alertId: alert.id }, 'alert notification not recorded')
			);
	}
}

function sum(values: readonly number[]): number {
	return values.reduce((total, value) => total + value, 0);
}
