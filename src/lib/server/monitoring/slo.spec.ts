import { describe, expect, it } from 'vitest';
import { populationStabilityIndex } from './prediction-stats';
import { evaluateSlos, type SloInputs } from './slo';
import { withinHours } from './alerts';

const targets = { p95Ms: 200, errorRate: 0.001, windowMinutes: 5, noTrafficMinutes: 15, minRequests: 20 };

function inputs(overrides: Partial<SloInputs['requests']> = {}, rest: Partial<SloInputs> = {}): SloInputs {
	return {
		requests: {
			from: 0,
			to: 1,
			count: 1000,
			serverErrors: 0,
			clientErrors: 0,
			errorRate: 0,
			p50: 3,
			p95: 20,
			p99: 40,
			...overrides
		},
		ready: { ok: true, failing: [] },
		recentPredictions: 10,
		noTrafficAlert: false,
		...rest
	};
}

const light = (slos: ReturnType<typeof evaluateSlos>, id: string) => slos.find((slo) => slo.id === id);

describe('SLO traffic lights', () => {
	it('should be green with words when every objective is met', () => {
		const slos = evaluateSlos(targets, inputs());
		expect(slos.map((slo) => [slo.id, slo.light, slo.verdict])).toEqual([
			['latency', 'green', 'Met'],
			['errors', 'green', 'Met'],
			['availability', 'green', 'Ready'],
			['traffic', 'green', 'Flowing']
		]);
	});

	it('should turn amber near a limit and red past it', () => {
		expect(light(evaluateSlos(targets, inputs({ p95: 180 })), 'latency')).toMatchObject({
			light: 'amber',
			verdict: 'At risk'
		});
		expect(light(evaluateSlos(targets, inputs({ p95: 201 })), 'latency')).toMatchObject({
			light: 'red',
			verdict: 'Breached'
		});
		const errors = light(evaluateSlos(targets, inputs({ errorRate: 0.002, serverErrors: 2 })), 'errors');
		expect(errors?.light).toBe('red');
		expect(errors?.detail).toMatch(/0\.20 % of 1000 scoring requests failed/);
	});

	it('should not judge a handful of requests: one refused request is not a 100 % error rate', () => {
		const slos = evaluateSlos(targets, inputs({ count: 1, serverErrors: 1, errorRate: 1, p95: 900 }));
		expect(light(slos, 'errors')).toMatchObject({ light: 'amber', verdict: 'Too few requests' });
		expect(light(slos, 'errors')?.detail).toMatch(
			/100(\.0)? % of 1 scoring requests failed.*Not judged below 20/
		);
		expect(light(slos, 'latency')).toMatchObject({ light: 'amber', verdict: 'Too few requests' });
		const enough = evaluateSlos(targets, inputs({ count: 20, serverErrors: 1, errorRate: 0.05 }));
		expect(light(enough, 'errors')).toMatchObject({ light: 'red', verdict: 'Breached' });
	});

	it('should say when there is nothing to measure instead of claiming success', () => {
		const slos = evaluateSlos(
			targets,
			inputs({ count: 0, p95: null, errorRate: null }, { recentPredictions: 0 })
		);
		expect(light(slos, 'latency')).toMatchObject({ light: 'amber', verdict: 'No data' });
		expect(light(slos, 'traffic')).toMatchObject({ light: 'amber', verdict: 'Quiet' });
	});

	it('should be red when not ready or when the no-traffic alert is open', () => {
		const slos = evaluateSlos(
			targets,
			inputs({}, { ready: { ok: false, failing: ['database'] }, recentPredictions: 0, noTrafficAlert: true })
		);
		expect(light(slos, 'availability')?.light).toBe('red');
		expect(light(slos, 'availability')?.detail).toMatch(/database/);
		expect(light(slos, 'traffic')).toMatchObject({ light: 'red', verdict: 'Stopped' });
	});
});

describe('populationStabilityIndex', () => {
	it('should be zero for the reference itself and grow with the shift', () => {
		const reference = [0.25, 0.25, 0.25, 0.25];
		expect(populationStabilityIndex(reference, [25, 25, 25, 25])).toBeCloseTo(0, 12);
		const mild = populationStabilityIndex(reference, [30, 25, 25, 20]);
		const strong = populationStabilityIndex(reference, [5, 5, 10, 80]);
		expect(mild).toBeGreaterThan(0);
		expect(mild).toBeLessThan(0.1);
		expect(strong).toBeGreaterThan(0.25);
		// Σ (a − e) ln(a / e) by hand for [0.3, 0.25, 0.25, 0.2].
		expect(mild).toBeCloseTo(0.05 * Math.log(0.3 / 0.25) + -0.05 * Math.log(0.2 / 0.25), 12);
	});

	it('should stay finite when a bin is empty', () => {
		expect(Number.isFinite(populationStabilityIndex([0.5, 0.5], [10, 0]))).toBe(true);
		expect(populationStabilityIndex([0.5, 0.5], [0, 0])).toBe(0);
	});
});

describe('withinHours', () => {
	it('should read UTC hour ranges, wrapping past midnight', () => {
		expect(withinHours('08-20', new Date('2026-01-05T08:00:00Z'))).toBe(true);
		expect(withinHours('08-20', new Date('2026-01-05T20:00:00Z'))).toBe(false);
		expect(withinHours('20-06', new Date('2026-01-05T23:30:00Z'))).toBe(true);
		expect(withinHours('20-06', new Date('2026-01-05T12:00:00Z'))).toBe(false);
		expect(withinHours('00-24', new Date('2026-01-05T12:00:00Z'))).toBe(true);
	});
});
