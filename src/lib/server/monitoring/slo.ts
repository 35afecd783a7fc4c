/**
 * Service-level objectives as traffic lights: green (met), amber (at risk, or nothing to measure)
 * and red (breached), always with words, so the page never relies on colour alone.
 */
import { formatLatency as formatMs, formatShare as formatPercent } from '../../monitoring';
import type { RequestTotals } from './request-recorder';

export type Light = 'green' | 'amber' | 'red';

export interface SloStatus {
	id: 'latency' | 'errors' | 'availability' | 'traffic';
	name: string;
	light: Light;
	/** The light in words: "Met", "At risk", "Breached", "No data"… */
	verdict: string;
	/** The measurement and the objective, in a sentence. */
	detail: string;
	value: number | null;
	target: number | null;
}

export interface SloTargets {
	p95Ms: number;
	errorRate: number;
	windowMinutes: number;
	/** Minutes without a recorded prediction that count as "no traffic". */
	noTrafficMinutes: number;
	/**
	 * Fewest requests in the window before latency and errors are judged (the alert rules' own
	 * minimum): below it one refused request would read as a 100 % error rate.
	 */
	minRequests: number;
}

export interface SloInputs {
	requests: RequestTotals;
	ready: { ok: boolean; failing: string[] };
	/** Predictions recorded (by any instance) within the no-traffic window. */
	recentPredictions: number;
	/** Whether the no-traffic alert is open: silence then counts as a breach, not just a quiet spell. */
	noTrafficAlert: boolean;
}

/** A value within this share of its limit is "at risk" (amber). */
const AT_RISK = 0.8;

export function evaluateSlos(targets: SloTargets, inputs: SloInputs): SloStatus[] {
	const { requests } = inputs;
	const window = `last ${targets.windowMinutes} min`;
	return [
		limitSlo({
			id: 'latency',
			name: 'P95 latency',
			value: requests.p95,
			target: targets.p95Ms,
			describe: (value) =>
				`P95 ${formatMs(value)} over the ${window}; objective ≤ ${formatMs(targets.p95Ms)}.`,
			requests: requests.count,
			minRequests: targets.minRequests
		}),
		limitSlo({
			id: 'errors',
			name: 'Error rate',
			value: requests.errorRate,
			target: targets.errorRate,
			describe: (value) =>
				`${formatPercent(value)} of ${requests.count} scoring requests failed (5xx) over the ${window}; objective ≤ ${formatPercent(targets.errorRate)}.`,
			requests: requests.count,
			minRequests: targets.minRequests
		}),
		{
			id: 'availability',
			name: 'Availability',
			light: inputs.ready.ok ? 'green' : 'red',
			verdict: inputs.ready.ok ? 'Ready' : 'Not ready',
			detail: inputs.ready.ok
				? 'Database answers and models are loaded (the /readyz checks pass).'
				: `Failing readiness checks: ${inputs.ready.failing.join(', ')}.`,
			value: inputs.ready.ok ? 1 : 0,
			target: 1
		},
		{
			id: 'traffic',
			name: 'Traffic',
			light: inputs.recentPredictions > 0 ? 'green' : inputs.noTrafficAlert ? 'red' : 'amber',
			verdict: inputs.recentPredictions > 0 ? 'Flowing' : inputs.noTrafficAlert ? 'Stopped' : 'Quiet',
			detail: `${inputs.recentPredictions} predictions recorded in the last ${targets.noTrafficMinutes} min.`,
			value: inputs.recentPredictions,
			target: null
		}
	];
}

function limitSlo(options: {
	id: 'latency' | 'errors';
	name: string;
	value: number | null;
	target: number;
	requests: number;
	minRequests: number;
	describe: (value: number) => string;
}): SloStatus {
	const { id, name, value, target } = options;
	if (value === null || options.requests === 0)
		return {
			id,
			name,
			light: 'amber',
			verdict: 'No data',
			detail: 'No scoring requests in the window to measure.',
			value: null,
			target
		};
	if (options.requests < options.minRequests)
		return {
			id,
			name,
			light: 'amber',
			verdict: 'Too few requests',
			detail: `${options.describe(value)} Not judged below ${options.minRequests} requests.`,
			value,
			target
		};
	const light: Light = value > target ? 'red' : value > target * AT_RISK && value > 0 ? 'amber' : 'green';
	return {
		id,
		name,
		light,
		verdict: light === 'red' ? 'Breached' : light === 'amber' ? 'At risk' : 'Met',
		detail: options.describe(value),
		value,
		target
	};
}
