import { describe, expect, it } from 'vitest';
import { binOf, percentileOf } from './population';

const edges = [0, 10, 20, 40];
const proportions = [0.5, 0.3, 0.2];

describe('applicant vs population', () => {
	it('should put a value in its [a, b) bin, the maximum in the last and outsiders at the ends', () => {
		expect(binOf(edges, 0)).toBe(0);
		expect(binOf(edges, 9.99)).toBe(0);
		expect(binOf(edges, 10)).toBe(1);
		expect(binOf(edges, 40)).toBe(2);
		expect(binOf(edges, -5)).toBe(0);
		expect(binOf(edges, 99)).toBe(2);
	});

	it('should interpolate the share of training applicants below a value within its bin', () => {
		expect(percentileOf(edges, proportions, 0)).toBe(0);
		expect(percentileOf(edges, proportions, 5)).toBeCloseTo(0.25);
		expect(percentileOf(edges, proportions, 15)).toBeCloseTo(0.65);
		expect(percentileOf(edges, proportions, 40)).toBeCloseTo(1);
		expect(percentileOf(edges, proportions, 1000)).toBeCloseTo(1);
	});
});
