import { describe, expect, it } from 'vitest';
import { gaugeLayout } from './gauge';

/** The policies of the bundled models: consumer-credit, lending-club xgb and scorecard. */
const policies = [
	{ approveBelow: 0.085, declineAtOrAbove: 0.155 },
	{ approveBelow: 0.11, declineAtOrAbove: 0.165 },
	{ approveBelow: 0.06, declineAtOrAbove: 0.16 }
];
const widths = [200, 280, 316, 358, 390, 555, 900];
const overlaps = (a: { left: number; right: number }, b: { left: number; right: number }) =>
	a.left < b.right && b.left < a.right;

describe('gaugeLayout', () => {
	for (const policy of policies) {
		for (const width of widths) {
			for (const probability of [0.02, policy.declineAtOrAbove + 0.2, 0.9]) {
				it(`keeps every label at ${width} px (cut-offs ${policy.approveBelow}/${policy.declineAtOrAbove}, p=${probability})`, () => {
					const layout = gaugeLayout({ width, probability, ...policy });
					expect(layout.zones.map((zone) => zone.label)).toEqual(['Approve', 'Review', 'Decline']);
					expect(layout.ticks.map((tick) => tick.value)).toEqual([
						0,
						policy.approveBelow,
						policy.declineAtOrAbove,
						layout.top
					]);
					for (const tick of layout.ticks) {
						expect(tick.left).toBeGreaterThanOrEqual(0);
						expect(tick.right).toBeLessThanOrEqual(width);
					}
					for (const [i, a] of layout.ticks.entries()) {
						for (const b of layout.ticks.slice(i + 1)) {
							if (a.row === b.row) expect(overlaps(a, b), `${a.label} and ${b.label}`).toBe(false);
						}
					}
					const keyed = layout.zones.filter((zone) => !zone.inside);
					for (const [i, a] of keyed.entries()) {
						expect(a.left).toBeGreaterThanOrEqual(0);
						expect(a.right).toBeLessThanOrEqual(width);
						for (const b of keyed.slice(i + 1)) expect(overlaps(a, b)).toBe(false);
					}
					for (const zone of layout.zones.filter((z) => z.inside)) {
						expect(zone.right - zone.left).toBeLessThan(zone.width);
					}
					expect(layout.height).toBeGreaterThan(layout.tickRowY(Math.max(...layout.ticks.map((t) => t.row))));
				});
			}
		}
	}

	it('names the narrow review zone under the bar at a phone width', () => {
		const layout = gaugeLayout({
			width: 316,
			probability: 0.378,
			approveBelow: 0.085,
			declineAtOrAbove: 0.155
		});
		expect(layout.zones.find((zone) => zone.name === 'review')?.inside).toBe(false);
		expect(layout.keyY).toBeLessThan(layout.height);
	});
});
