/**
 * The in-app monitoring of one instance: the rolling request windows (fed by the request-event
 * bus) and the alert engine, started with the core and stopped with it.
 */
import type { Database } from '../db';
import type { Env } from '../env';
import type { ModelRegistry } from '../services/models.service';
import { AlertEngine, defaultInstanceName, type Timers } from './alerts';
import { RequestRecorder } from './request-recorder';
import { createWebhookNotifier } from './webhook';

export interface Monitoring {
	requests: RequestRecorder;
	alerts: AlertEngine;
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
	options: MonitoringOptions = {}
): Monitoring {
	const clock = options.clock ?? Date.now;
	const instance = options.instance ?? defaultInstanceName();
	const requests = new RequestRecorder().start();
	const alerts = new AlertEngine({
		db,
		recorder: requests,
		models,
		config,
		clock,
		timers: options.timers,
		instance,
		notifier: config.ALERT_WEBHOOK_URL
			? createWebhookNotifier({
					url: config.ALERT_WEBHOOK_URL,
					timeoutMs: config.ALERT_WEBHOOK_TIMEOUT_MS,
					instance
				})
			: undefined
	});
	alerts.start();
	return {
		requests,
		alerts,
		now: clock,
		stop: async () => {
			requests.stop();
			await alerts.stop();
		}
	};
}
