/**
 * The geometry of the score gauge (ScoreGauge.svelte): where the zones, the cut-off ticks and
 * their labels go at a given width. Nothing is dropped on a narrow screen: a tick label that would
 * overlap its neighbour moves down a row, and a zone too narrow for its name gets the name in a
 * key row under the ticks, next to a swatch of the zone's colour.
 */
import { formatPercent } from './format';

export type ZoneName = 'approve' | 'review' | 'decline';

export interface GaugeInput {
	width: number;
	probability: number;
	approveBelow: number;
	declineAtOrAbove: number;
	previous?: number | null;
}

export interface GaugeTick {
	value: number;
	x: number;
	label: string;
	/** 0 for the first row of labels under the bar, 1 for the next… */
	row: number;
	anchor: 'start' | 'middle' | 'end';
	/** The label's extent, in pixels, from its estimated width. */
	left: number;
	right: number;
}

export interface GaugeZone {
	name: ZoneName;
	label: string;
	from: number;
	to: number;
	x: number;
	width: number;
	/** The label inside the bar (centred at labelX), or in the key row under the ticks. */
	inside: boolean;
	labelX: number;
	left: number;
	right: number;
}

export interface GaugeLayout {
	width: number;
	height: number;
	top: number;
	barY: number;
	barH: number;
	ticks: GaugeTick[];
	tickRowY: (row: number) => number;
	zones: GaugeZone[];
	keyY: number;
	x: (p: number) => number;
}

const PAD = 12;
const BAR_Y = 30;
const BAR_H = 18;
const ROW = 13;
const GAP = 6;
/** Estimated text widths at 11 px: a digit or letter is at most about 7 px wide. */
const tickWidth = (label: string) => label.length * 6.4;
const nameWidth = (label: string) => label.length * 7;
const SWATCH = 12;

export function gaugeLayout(input: GaugeInput): GaugeLayout {
	const width = Math.max(input.width, 200);
	const { probability, approveBelow, declineAtOrAbove } = input;
	const previous = input.previous ?? 0;
	const top = Math.min(1, Math.max(declineAtOrAbove * 2.5, probability * 1.15, previous * 1.15));
	const x = (p: number) => PAD + (Math.min(p, top) / top) * (width - 2 * PAD);

	const values = [...new Set([0, approveBelow, declineAtOrAbove, top])];
	const rows: Array<Array<[number, number]>> = [];
	const ticks: GaugeTick[] = values.map((value, i) => {
		const label = formatPercent(value, 1);
		const at = x(value);
		const w = tickWidth(label);
		const anchor = i === 0 ? 'start' : i === values.length - 1 ? 'end' : 'middle';
		const left = anchor === 'start' ? at : anchor === 'end' ? at - w : at - w / 2;
		const right = left + w;
		let row = 0;
		while ((rows[row] ?? []).some(([l, r]) => left < r + GAP && right > l - GAP)) row++;
		(rows[row] ??= []).push([left, right]);
		return { value, x: at, label, row, anchor, left, right };
	});
	const tickRows = Math.max(1, rows.length);
	const tickRowY = (row: number) => BAR_Y + BAR_H + 17 + row * ROW;

	const zones: GaugeZone[] = (
		[
			{ name: 'approve', label: 'Approve', from: 0, to: approveBelow },
			{ name: 'review', label: 'Review', from: approveBelow, to: declineAtOrAbove },
			{ name: 'decline', label: 'Decline', from: declineAtOrAbove, to: top }
		] as const
	).map((zone) => {
		const zx = x(zone.from);
		const zw = Math.max(0, x(zone.to) - zx);
		const inside = zw > nameWidth(zone.label) + 6;
		const centre = zx + zw / 2;
		const w = inside ? nameWidth(zone.label) : SWATCH + nameWidth(zone.label);
		return {
			...zone,
			x: zx,
			width: zw,
			inside,
			labelX: centre,
			left: centre - w / 2,
			right: centre + w / 2
		};
	});
	// Names in the key row keep their zone's order, pushed apart and kept within the gauge.
	const outside = zones.filter((zone) => !zone.inside);
	let edge = 0;
	for (const zone of outside) {
		const shift = Math.max(0, edge + (edge > 0 ? GAP * 2 : 0) - zone.left);
		zone.left += shift;
		zone.right += shift;
		edge = zone.right;
	}
	let limit = width;
	for (const zone of [...outside].reverse()) {
		const shift = Math.max(0, zone.right - limit);
		zone.left -= shift;
		zone.right -= shift;
		limit = zone.left - GAP * 2;
	}
	for (const zone of outside) zone.labelX = (zone.left + zone.right) / 2;

	const keyY = tickRowY(tickRows - 1) + 18;
	const height = (outside.length > 0 ? keyY : tickRowY(tickRows - 1)) + 8;
	return { width, height, top, barY: BAR_Y, barH: BAR_H, ticks, tickRowY, zones, keyY, x };
}
