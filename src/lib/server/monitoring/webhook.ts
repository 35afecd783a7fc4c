/**
 * Alert notifications by webhook: one JSON POST per raised or resolved alert, bounded by a
 * timeout. Failures are logged with the destination's origin only — a webhook URL often carries
 * its secret in the path or query (Slack, Teams), so the full URL never reaches the log.
 */
import type { Alert } from '../db/schema';
import { logger } from '../logger';

export type AlertEvent = 'alert.raised' | 'alert.resolved';

/** The body every webhook receives (documented in docs/monitoring.md). */
export interface AlertWebhookPayload {
	event: AlertEvent;
	/** The instance that saw the change. */
	instance: string;
	sentAt: string;
	alert: {
		id: string;
		rule: string;
		key: string;
		severity: string;
		status: string;
		summary: string;
		value: number | null;
		threshold: number | null;
		raisedAt: string;
		acknowledgedAt: string | null;
		resolvedAt: string | null;
		details: Record<string, unknown>;
	};
}

/** Delivers one event; resolves true when the receiver answered 2xx, false otherwise. Never throws. */
export type AlertNotifier = (event: AlertEvent, alert: Alert) => Promise<boolean>;

export function webhookPayload(
	event: AlertEvent,
	alert: Alert,
	instance: string,
	now: Date
): AlertWebhookPayload {
	return {
		event,
		instance,
		sentAt: now.toISOString(),
		alert: {
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
			resolvedAt: alert.resolvedAt?.toISOString() ?? null,
			details: alert.details
		}
	};
}

export function createWebhookNotifier(options: {
	url: string;
	timeoutMs: number;
	instance: string;
}): AlertNotifier {
	return (event, alert) =>
		postWebhook({
			url: options.url,
			timeoutMs: options.timeoutMs,
			userAgent: 'Credible-Alerts/1',
			body: webhookPayload(event, alert, options.instance, new Date()),
			what: 'alert webhook',
			log: { event, alertId: alert.id }
		});
}

/**
 * POSTs one JSON body; resolves true on a 2xx answer, false otherwise (logged with the
 * destination's origin only, and `log`'s fields). Never throws; no redirect is followed.
 */
export async function postWebhook(options: {
	url: string;
	timeoutMs: number;
	userAgent: string;
	body: unknown;
	/** How the log names the delivery, e.g. `alert webhook`. */
	what: string;
	log: Record<string, unknown>;
}): Promise<boolean> {
	const destination = new URL(options.url).origin;
	try {
		const response = await fetch(options.url, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'user-agent': options.userAgent },
			body: JSON.stringify(options.body),
			signal: AbortSignal.timeout(options.timeoutMs),
			redirect: 'error'
		});
		await response.body?.cancel();
		if (response.ok) return true;
		logger.warn({ destination, status: response.status, ...options.log }, `${options.what} refused`);
	} catch (error) {
		const reason =
			error instanceof Error && error.name === 'TimeoutError'
				? `no answer within ${options.timeoutMs} ms`
				: error instanceof Error
					? ((error.cause as Error | undefined)?.message ?? error.message)
					: 'unknown error';
		logger.warn({ destination, reason, ...options.log }, `${options.what} failed`);
	}
	return false;
}
