import { describe, expect, it } from 'vitest';
import { BIN_COUNT, binEdges, binOf, LatencyHistogram } from './latency-histogram';

/** Exact nearest-rank quantile of a sample. */
function exactQuantile(values: number[], q: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] ?? NaN;
}

describe('LatencyHistogram', () => {
	it('should return null quantiles when empty', () => {
		expect(new LatencyHistogram().quantile(0.95)).toBeNull();
	});

	it('should put every value in the bin whose edges hold it', () => {
		for (const ms of [0.011, 0.5, 1, 3.7, 42, 199.9, 200, 1234, 59_999]) {
			const [low, high] = binEdges(binOf(ms));
			expect(ms).toBeGreaterThanOrEqual(low * (1 - 1e-12));
			expect(ms).toBeLessThanOrEqual(high * (1 + 1e-12));
		}
		expect(binOf(0)).toBe(0);
		expect(binOf(Number.NaN)).toBe(0);
		expect(binOf(1e12)).toBe(BIN_COUNT - 1);
	});

	it('should estimate P50, P95 and P99 within 3 % of the exact values on a skewed sample', () => {
		// A deterministic long-tailed sample: mostly fast, a slow tail (like real request latencies).
		const values = Array.from({ length: 5000 }, (_, i) => {
			const u = ((i * 7919) % 5000) / 5000 + 1 / 10_000;
			return 2 + -Math.log(u) * (i % 20 === 0 ? 150 : 6);
		});
		const histogram = new LatencyHistogram();
		for (const value of values) histogram.record(value);
		for (const q of [0.5, 0.95, 0.99]) {
			const exact = exactQuantile(values, q);
			expect(Math.abs((histogram.quantile(q) ?? 0) - exact) / exact).toBeLessThan(0.03);
		}
	});

	it('should merge histograms into the histogram of the union', () => {
		const a = new LatencyHistogram();
		const b = new LatencyHistogram();
		const both = new LatencyHistogram();
		for (let i = 1; i <= 300; i++) {
			(i % 3 === 0 ? a : b).record(i);
			both.record(i);
		}
		a.merge(b);
		expect(a.total).toBe(300);
		expect(a.max).toBe(300);
		expect(a.quantile(0.99)).toBe(both.quantile(0.99));
		expect(a.quantile(0.5)).toBe(both.quantile(0.5));
	});

	it('should never report more than the largest value seen', () => {
		const histogram = new LatencyHistogram();
		histogram.record(7);
		expect(histogram.quantile(0.99)).toBeLessThanOrEqual(7);
		expect(histogram.quantile(0.99)).toBeGreaterThan(6.8);
	});
});
