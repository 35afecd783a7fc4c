/**
 * Histograms kept as plain bucket counters and handed to the Prometheus reader as they are, at
 * scrape time, through a metric producer. Used where an OpenTelemetry histogram would cost too
 * much per record (a probability per scored row: a 10,000-row batch is 10,000 records) or where the
 * counts already exist elsewhere (the inference pool's batch sizes).
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import {
	AggregationTemporality,
	DataPointType,
	type CollectionResult,
	type MetricData,
	type MetricProducer
} from '@opentelemetry/sdk-metrics';

/** One histogram data point: `counts[i]` rows fell at or below `bounds[i]`, the last one above all. */
export interface HistogramPoint {
	attributes: Attributes;
	bounds: readonly number[];
	counts: readonly number[];
	sum: number;
	count: number;
}

/** Cumulative histograms of one metric, one per label set; `record` is a bucket search and two additions. */
export class CumulativeHistograms {
	readonly #bounds: readonly number[];
	readonly #series = new Map<
		string,
		{ attributes: Attributes; counts: number[]; sum: number; count: number }
	>();

	constructor(bounds: readonly number[]) {
		this.#bounds = bounds;
	}

	record(attributes: Record<string, string>, value: number): void {
		const key = Object.values(attributes).join('\u0000');
		let series = this.#series.get(key);
		if (!series) {
			series = { attributes, counts: new Array<number>(this.#bounds.length + 1).fill(0), sum: 0, count: 0 };
			this.#series.set(key, series);
		}
		let low = 0;
		let high = this.#bounds.length;
		while (low < high) {
			const mid = (low + high) >>> 1;
			if (value > (this.#bounds[mid] ?? Infinity)) low = mid + 1;
			else high = mid;
		}
		series.counts[low] = (series.counts[low] ?? 0) + 1;
		series.sum += value;
		series.count += 1;
	}

	points(): HistogramPoint[] {
		return [...this.#series.values()].map((s) => ({ ...s, counts: [...s.counts], bounds: this.#bounds }));
	}
}

export interface ProducedHistogram {
	name: string;
	description: string;
	unit: string;
	/** Either a set of histograms recorded here, or a function reading counts kept elsewhere. */
	histograms?: CumulativeHistograms;
	snapshot?: () => HistogramPoint[];
}

function hrTime(epochMs: number): HrTime {
	const seconds = Math.floor(epochMs / 1000);
	return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}

const processStart = hrTime(Date.now() - performance.now());

/** A metric producer serving these histograms as cumulative OpenTelemetry histogram data. */
export function histogramProducer(scope: string, histograms: readonly ProducedHistogram[]): MetricProducer {
	return {
		collect(): Promise<CollectionResult> {
			const now = hrTime(Date.now());
			const metrics: MetricData[] = histograms.map((h) => ({
				descriptor: { name: h.name, description: h.description, unit: h.unit, valueType: ValueType.DOUBLE },
				aggregationTemporality: AggregationTemporality.CUMULATIVE,
				dataPointType: DataPointType.HISTOGRAM,
				dataPoints: (h.histograms?.points() ?? h.snapshot?.() ?? []).map((point) => ({
					attributes: point.attributes,
					startTime: processStart,
					endTime: now,
					value: {
						buckets: { boundaries: [...point.bounds], counts: [...point.counts] },
						sum: point.sum,
						count: point.count
					}
				}))
			}));
			return Promise.resolve({
				resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: scope }, metrics }] },
				errors: []
			});
		}
	};
}
