/**
 * The in-app monitoring of one instance: the rolling request windows (fed by the request-event
 * bus), the alert engine and the promotion guard, started with the core and stopped with it.
 */
import type { Database } from '../db';
import type { Env } from '../env';
import type { ModelRegistry } from '../services/models.service';
import { AlertEngine, defaultInstanceName, type Timers } from './alerts';
import { PromotionGuard, type Rollbacker } from './promotion-guard';
import { RequestRecorder } from './request-recorder';
import { createWebhookNotifier } from './webhook';

export interface Monitoring {
	requests: RequestRecorder;
	alerts: AlertEngine;
	/** Watches each promotion for its guard period and rolls it back when it breaks a limit. */
	guard: PromotionGuard;
	/** The clock the engine and the statistics read (the system clock outside tests). */
	now(): number;
	stop(): Promise<void>;
}

export interface MonitoringOptions {
	clock?: () => number;
	timers?: Timers;
	instance?: string;
}

export function createMonitoring(
	config: Env,
	db: Database,
	models: ModelRegistry,
	rollback: Rollbacker,
	options: MonitoringOptions = {}
): Monitoring {
	const clock = options.clock ?? Date.now;
	const instance = options.instance ?? defaultInstanceName();
	const requests = new RequestRecorder().start();
	const notifier = config.ALERT_WEBHOOK_URL
		? createWebhookNotifier({
				url: config.ALERT_WEBHOOK_URL,
				timeoutMs: config.ALERT_WEBHOOK_TIMEOUT_MS,
				instance
			})
		: undefined;
	const alerts = new AlertEngine({
		db,
		recorder: requests,
		models,
		config,
		clock,
		timers: options.timers,
		instance,
		notifier
	});
	alerts.start();
	const guard = new PromotionGuard({
		db,
		recorder: requests,
		models,
		rollback,
		config,
		instance,
		notifier,
		clock,
		timers: options.timers
	});
	guard.start();
	return {
		requests,
		alerts,
		guard,
		now: clock,
		stop: async () => {
			await guard.stop();
			requests.stop();
			await alerts.stop();
		}
	};
}
