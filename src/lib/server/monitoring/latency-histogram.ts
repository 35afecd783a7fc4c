/**
 * A latency histogram with logarithmic bins: each bin is 5 % wider than the one before, from
 * 0.01 ms to about 10 minutes, so any quantile read from it is within ~2.5 % of the true value
 * whatever the spread — good enough for P50/P95/P99 on a dashboard, at a fixed ~1.5 KB per
 * histogram, mergeable by adding counts (a reservoir would need resampling to merge).
 */

const MIN_MS = 0.01;
const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);
/** Bin 0 holds everything ≤ MIN_MS; the last bin everything beyond the top edge. */
export const BIN_COUNT = 2 + Math.ceil(Math.log(600_000 / MIN_MS) / LOG_GROWTH);

/** Index of the bin holding `ms`. */
export function binOf(ms: number): number {
	if (!(ms > MIN_MS)) return 0;
	return Math.min(BIN_COUNT - 1, 1 + Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH));
}

/** Lower and upper edge of a bin, in milliseconds. */
export function binEdges(bin: number): [number, number] {
	if (bin <= 0) return [0, MIN_MS];
	return [MIN_MS * GROWTH ** (bin - 1), MIN_MS * GROWTH ** bin];
}

export class LatencyHistogram {
	readonly counts = new Uint32Array(BIN_COUNT);
	total = 0;
	/** Largest value seen: the top quantiles of small samples should not exceed it. */
	max = 0;

	record(ms: number): void {
		const bin = binOf(ms);
		this.counts[bin] = (this.counts[bin] ?? 0) + 1;
		this.total += 1;
		if (ms > this.max) this.max = ms;
	}

	/** Adds another histogram's counts into this one. */
	merge(other: LatencyHistogram): void {
		for (let i = 0; i < BIN_COUNT; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
		this.total += other.total;
		if (other.max > this.max) this.max = other.max;
	}

	/**
	 * The q-quantile (0 < q ≤ 1) by the nearest-rank method, reported as the geometric middle of
	 * its bin (capped at the largest value seen); null when empty.
	 */
	quantile(q: number): number | null {
		if (this.total === 0) return null;
		const rank = Math.max(1, Math.ceil(q * this.total));
		let seen = 0;
		for (let bin = 0; bin < BIN_COUNT; bin++) {
			seen += this.counts[bin] ?? 0;
			if (seen >= rank) {
				const [low, high] = binEdges(bin);
				const middle = bin === 0 ? high : Math.sqrt(low * high);
				return Math.min(middle, this.max);
			}
		}
		return this.max;
	}
}
