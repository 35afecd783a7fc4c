import { describe, expect, it } from 'vitest';
import { emitRequest, emitScoring, type RequestEvent } from '../observability/request-events';
import { MINUTE_MS, MODEL_BUCKET_MS, RequestRecorder } from './request-recorder';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

function event(overrides: Partial<RequestEvent> = {}): RequestEvent {
	return { kind: 'rest', route: 'scoring.score', status: 200, durationMs: 5, at: T0, ...overrides };
}

describe('RequestRecorder', () => {
	it('should count requests, 5xx and 4xx separately per minute', () => {
		const recorder = new RequestRecorder();
		recorder.record(event());
		recorder.record(event({ status: 503 }));
		recorder.record(event({ status: 429, kind: 'trpc' }));
		recorder.record(event({ at: T0 + MINUTE_MS }));
		const first = recorder.totals(T0, T0 + MINUTE_MS);
		expect(first).toMatchObject({ count: 3, serverErrors: 1, clientErrors: 1 });
		expect(first.errorRate).toBeCloseTo(1 / 3, 9);
		expect(recorder.totals(T0, T0 + 2 * MINUTE_MS).count).toBe(4);
	});

	it('should leave out the portal’s own pages and other requests', () => {
		const recorder = new RequestRecorder();
		recorder.record(event({ kind: 'page' }));
		recorder.record(event({ kind: 'other', status: 500 }));
		expect(recorder.totals(T0, T0 + MINUTE_MS)).toMatchObject({ count: 0, errorRate: null, p95: null });
	});

	it('should count the portal’s scoring (score form, batch chunks) with the API', () => {
		const recorder = new RequestRecorder();
		recorder.record(event({ kind: 'portal', route: '/batch/[model]/score', durationMs: 40 }));
		expect(recorder.totals(T0, T0 + MINUTE_MS)).toMatchObject({ count: 1, serverErrors: 0 });
	});

	it('should return one point per step, empty steps included, oldest first', () => {
		const recorder = new RequestRecorder();
		recorder.record(event({ at: T0 + 30_000 }));
		recorder.record(event({ at: T0 + 2 * MINUTE_MS, durationMs: 50 }));
		const series = recorder.series(T0, T0 + 3 * MINUTE_MS, MINUTE_MS);
		expect(series.map((point) => point.count)).toEqual([1, 0, 1]);
		expect(series[2]?.p50).toBeGreaterThan(45);
		expect(series[2]?.p50).toBeLessThanOrEqual(50);
	});

	it('should forget minutes older than 24 hours when their slot is reused', () => {
		const recorder = new RequestRecorder();
		recorder.record(event({ at: T0 }));
		recorder.record(event({ at: T0 + 24 * 60 * MINUTE_MS }));
		expect(recorder.totals(T0, T0 + MINUTE_MS).count).toBe(0);
		expect(recorder.totals(T0 + 24 * 60 * MINUTE_MS, T0 + 24 * 60 * MINUTE_MS + MINUTE_MS).count).toBe(1);
		// A late event for the forgotten minute does not overwrite the newer one.
		recorder.record(event({ at: T0 }));
		expect(recorder.totals(T0 + 24 * 60 * MINUTE_MS, T0 + 24 * 60 * MINUTE_MS + MINUTE_MS).count).toBe(1);
	});

	it('should follow the request-event bus between start and stop', () => {
		const recorder = new RequestRecorder().start();
		emitRequest(event({ status: 500 }));
		recorder.stop();
		emitRequest(event());
		expect(recorder.totals(T0, T0 + MINUTE_MS)).toMatchObject({ count: 1, serverErrors: 1 });
	});

	it('should count each model version’s scoring calls per second, 5xx apart from refusals', () => {
		const recorder = new RequestRecorder().start();
		const key = 'lending-club@scorecard-1.0.0';
		emitScoring({ model: key, status: 200, durationMs: 10, at: T0 });
		emitScoring({ model: key, status: 500, durationMs: 700, at: T0 + 300 });
		emitScoring({ model: key, status: 400, durationMs: 2, at: T0 + MODEL_BUCKET_MS });
		emitScoring({ model: 'lending-club@xgb-1.0.0', status: 500, durationMs: 5, at: T0 });
		recorder.stop();
		emitScoring({ model: key, status: 500, durationMs: 5, at: T0 });
		expect(recorder.modelTotals(key, T0, T0 + 1)).toMatchObject({
			count: 2,
			serverErrors: 1,
			clientErrors: 0
		});
		const both = recorder.modelTotals(key, T0, T0 + 2 * MODEL_BUCKET_MS);
		expect(both).toMatchObject({ count: 3, serverErrors: 1, clientErrors: 1 });
		expect(both.errorRate).toBeCloseTo(1 / 3, 9);
		expect(both.p95).toBeGreaterThan(500);
		// The next second alone; another version; a version never scored.
		expect(recorder.modelTotals(key, T0 + MODEL_BUCKET_MS, T0 + 2 * MODEL_BUCKET_MS).count).toBe(1);
		expect(recorder.modelTotals('lending-club@xgb-1.0.0', T0, T0 + 1).count).toBe(1);
		expect(recorder.modelTotals('consumer-credit@xgb-1.0.0', T0, T0 + 1).count).toBe(0);
		// The API totals are not changed by scoring events.
		expect(recorder.totals(T0, T0 + MINUTE_MS).count).toBe(0);
	});
});
