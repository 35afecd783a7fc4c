import { describe, expect, it } from 'vitest';
import { MISSING_BIN, OTHER_BIN } from '../../db/schema';
import { binOfValue, numericBin, positionOf, tally, type FeatureBins } from './bins';

const numeric: FeatureBins = {
	feature: 'x',
	kind: 'numeric',
	edges: [0, 10, 20, 30],
	proportions: [0.3, 0.3, 0.4],
	missingRate: 0
};
const categorical: FeatureBins = {
	feature: 'c',
	kind: 'categorical',
	categories: ['a', 'b'],
	proportions: [0.5, 0.5],
	missingRate: 0
};

describe('numericBin', () => {
	it('should read the edges as NumPy’s histogram does, clamping values outside them', () => {
		expect(
			[-5, 0, 9.99, 10, 19, 20, 29.9, 30, 99].map((v) => numericBin(numeric.edges as number[], v))
		).toEqual([0, 0, 0, 1, 1, 2, 2, 2, 2]);
	});
});

describe('binOfValue', () => {
	it('should give missing and unseen values their own bins', () => {
		expect(binOfValue(numeric, null)).toBe(MISSING_BIN);
		expect(binOfValue(numeric, Number.NaN)).toBe(MISSING_BIN);
		expect(binOfValue(categorical, 'b')).toBe(1);
		expect(binOfValue(categorical, 'z')).toBe(OTHER_BIN);
		expect(binOfValue(categorical, undefined)).toBe(MISSING_BIN);
	});
});

describe('positionOf', () => {
	it('should put other first, missing second, then the bins', () => {
		expect([OTHER_BIN, MISSING_BIN, 0, 5].map(positionOf)).toEqual([0, 1, 2, 7]);
	});
});

describe('tally', () => {
	it('should count rows per version, hour, feature and bin, in key order', () => {
		const row = (at: string, x: number | null, c: string) => ({
			modelId: 'm',
			modelVersion: 'v',
			createdAt: new Date(at),
			input: { x, c },
			probability: 0.1
		});
		const counts = tally(
			[
				row('2026-01-01T10:05:00Z', 5, 'a'),
				row('2026-01-01T10:59:59Z', 6, 'a'),
				row('2026-01-01T11:00:00Z', null, 'q')
			],
			() => [numeric, categorical],
			new Date()
		);
		// Positions: other, missing, then the reference bins.
		expect(counts.map((c) => [c.hour.slice(11, 13), c.feature, c.counts])).toEqual([
			['10', 'c', [0, 0, 2, 0]],
			['10', 'x', [0, 0, 2, 0, 0]],
			['11', 'c', [1, 0, 0, 0]],
			['11', 'x', [0, 1, 0, 0, 0]]
		]);
	});
});
