/** Load dependency of the monitoring page: invalidating it refreshes the figures without a reload. */
export const MONITORING_DEPENDENCY = 'app:monitoring';

/** How often the monitoring page refreshes, in milliseconds. */
export const MONITORING_REFRESH_MS = 5000;

/** Names of the alert rules, in words. */
export const ALERT_RULE_LABELS: Record<string, string> = {
	slo_latency: 'Latency SLO breach',
	error_spike: 'Error spike',
	no_traffic: 'No traffic',
	score_shift: 'Score distribution shift',
	feature_drift: 'Input feature drift',
	performance_drop: 'Performance drop',
	promotion_guard: 'Promotion rolled back'
};

/** A number of milliseconds, with a precision that suits its size. */
export function formatLatency(ms: number | null | undefined): string {
	if (ms === null || ms === undefined) return '—';
	return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** A share (0–1) as a percentage. */
export function formatShare(share: number | null | undefined): string {
	if (share === null || share === undefined) return '—';
	const percent = share * 100;
	return `${percent < 1 && percent > 0 ? percent.toFixed(2) : percent.toFixed(1)} %`;
}
