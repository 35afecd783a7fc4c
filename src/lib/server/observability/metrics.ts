/**
 * Credible's metrics, exported to Prometheus at `/metrics` (see docs/observability.md for the
 * catalogue). Instruments live on the OpenTelemetry SDK's MeterProvider when `otel/register.js`
 * loaded it; otherwise (tests, `vite dev`, OTEL_SDK_DISABLED=true) on an in-process MeterProvider
 * with the same Prometheus reader, so `/metrics` answers the same either way.
 *
 * Hot-path rule: one histogram record per finished request; everything the inference pool and the
 * prediction writer already count is read at scrape time (observable instruments and metric
 * producers), never re-recorded per row.
 */
import {
	metrics,
	ValueType,
	type Attributes,
	type HrTime,
	type BatchObservableResult,
	type Histogram,
	type Meter,
	type Observable
} from '@opentelemetry/api';
import { PrometheusSerializer, type PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { emptyResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
	AggregationTemporality,
	DataPointType,
	MeterProvider,
	type CollectionResult,
	type MetricData,
	type MetricProducer
} from '@opentelemetry/sdk-metrics';
import type { InferencePool } from '$inference/pool/pool';
import { BATCH_SIZE_BOUNDS, emptyPoolCounters, type PoolStats } from '$inference/pool/stats';
import { createPrometheusReader, metricProducers } from '../../../../otel/prometheus.js';
import type { NewPrediction } from '../db/schema';
import { rateLimitFallbacks } from '../limits/rate-limit';
import type { PredictionWriter } from '../services/prediction-writer';
import { CumulativeHistograms, histogramProducer } from './cumulative-histogram';
import { onRequest, type RequestEvent } from './request-events';

/** Latency buckets in seconds: fine from 0.5 ms to 500 ms (the SLO is P95 < 200 ms), coarse above. */
export const LATENCY_BUCKETS_SECONDS = [
	0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
	1, 2.5, 5, 10
];
/** Probability-of-default buckets: fine where most applicants fall (below 0.3). */
export const PROBABILITY_BUCKETS = [
	0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1
];
/** Rows per group commit (the writer flushes at most WRITER_MAX_ROWS). */
export const FLUSH_ROWS_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
/** How often the pool's busy workers are sampled to integrate busy time. */
const BUSY_SAMPLE_MS = 100;

const TELEMETRY_KEY = Symbol.for('credible.telemetry');
/** What `otel/register.js` leaves on `globalThis` when the SDK is loaded. */
interface Telemetry {
	exporter: PrometheusExporter;
	tracing: boolean;
}

/** The SDK bootstrap's handle, when `otel/register.js` was loaded in this process. */
export function telemetry(): Telemetry | undefined {
	return (globalThis as Record<symbol, Telemetry | undefined>)[TELEMETRY_KEY];
}

interface Instruments {
	requestDuration: Histogram;
	predictions: ReturnType<Meter['createCounter']>;
	flushRows: Histogram;
	flushDuration: Histogram;
	shadow: Record<'scored' | 'dropped' | 'failed', ReturnType<Meter['createCounter']>>;
}

interface ObservedCore {
	pool: InferencePool;
	writer: PredictionWriter;
	maxQueueRows: number;
	busySeconds: number;
	lastSample: number;
	timer: NodeJS.Timeout;
}

interface Runtime {
	exporter: PrometheusExporter;
	serializer: PrometheusSerializer;
	instruments: Instruments;
	probability: CumulativeHistograms;
}

const observed = new Set<ObservedCore>();
/** Counters of pools that were closed, so that totals never go down while the process lives. */
const retired = {
	counters: emptyPoolCounters(),
	batchCounts: [] as number[],
	batchSum: 0,
	batchCount: 0,
	busySeconds: 0
};
let runtime: Runtime | undefined;

function metricsRuntime(): Runtime {
	if (runtime) return runtime;
	const sdk = telemetry();
	let exporter: PrometheusExporter;
	let meter: Meter;
	if (sdk) {
		exporter = sdk.exporter;
		meter = metrics.getMeter('credible');
		new RuntimeNodeInstrumentation({ monitoringPrecision: 10 }).setMeterProvider(metrics.getMeterProvider());
	} else {
		exporter = createPrometheusReader();
		const provider = new MeterProvider({
			resource: resourceFromAttributes({ 'service.name': 'credible' }),
			readers: [exporter]
		});
		meter = provider.getMeter('credible');
		new RuntimeNodeInstrumentation({ monitoringPrecision: 10 }).setMeterProvider(provider);
	}
	const instruments = createInstruments(meter);
	registerObservers(meter);
	registerProcessMetrics(meter);
	const probability = new CumulativeHistograms(PROBABILITY_BUCKETS);
	metricProducers().add(
		histogramProducer('credible.scoring', [
			{
				name: 'credible_prediction_probability',
				description: 'Probability of default of each recorded prediction, by model and version.',
				unit: '1',
				histograms: probability
			}
		])
	);
	metricProducers().add(batchSizeProducer());
	metricProducers().add(modelQualityProducer());
	onRequest(recordRequest);
	runtime = {
		exporter,
		serializer: new PrometheusSerializer(undefined, false, undefined, false, true),
		instruments,
		probability
	};
	return runtime;
}

function createInstruments(meter: Meter): Instruments {
	return {
		requestDuration: meter.createHistogram('credible_request_duration_seconds', {
			description:
				'Time to answer a REST request, a tRPC call or a page, by kind, route (template or procedure) and status code.',
			unit: 's',
			advice: { explicitBucketBoundaries: LATENCY_BUCKETS_SECONDS }
		}),
		predictions: meter.createCounter('credible_predictions_total', {
			description: 'Predictions recorded in the database, by model, version, decision and channel.'
		}),
		flushRows: meter.createHistogram('credible_prediction_writer_flush_rows', {
			description: 'Rows written by each group commit (COPY and INSERT).',
			unit: '{row}',
			advice: { explicitBucketBoundaries: FLUSH_ROWS_BUCKETS }
		}),
		flushDuration: meter.createHistogram('credible_prediction_writer_flush_duration_seconds', {
			description: 'Duration of each group commit (COPY and INSERT), by outcome (ok or error).',
			unit: 's',
			advice: { explicitBucketBoundaries: LATENCY_BUCKETS_SECONDS }
		}),
		shadow: {
			scored: meter.createCounter('credible_shadow_scored_total', {
				description:
					'Champion decisions scored by the version in shadow and recorded, by model and shadow version.'
			}),
			dropped: meter.createCounter('credible_shadow_dropped_total', {
				description:
					'Champion decisions not shadow-scored because the shadow queue was full (or closing), by model and shadow version.'
			}),
			failed: meter.createCounter('credible_shadow_failed_total', {
				description:
					'Champion decisions the version in shadow could not score or record, by model and shadow version.'
			})
		}
	};
}

function recordRequest(event: RequestEvent): void {
	runtime?.instruments.requestDuration.record(event.durationMs / 1000, {
		kind: event.kind,
		route: event.route,
		status: String(event.status)
	});
}

/** Counts shadow scoring's outcomes (see `services/shadow-scoring.ts`). */
export function recordShadow(
	event: 'scored' | 'dropped' | 'failed',
	model: string,
	version: string,
	rows: number
): void {
	metricsRuntime().instruments.shadow[event].add(rows, { model, version });
}

/**
 * Counts recorded predictions. Rows of one call are tallied first, so a 10,000-row batch costs a
 * few counter updates, and the probability histogram is a bucket increment per row.
 */
export function recordPredictions(rows: readonly NewPrediction[]): void {
	const { instruments, probability } = metricsRuntime();
	const tally = new Map<string, { attributes: Attributes; n: number }>();
	for (const row of rows) {
		const key = `${row.modelId}\u0000${row.modelVersion}\u0000${row.decision}\u0000${row.channel}`;
		const entry = tally.get(key);
		if (entry) entry.n += 1;
		else
			tally.set(key, {
				attributes: {
					model: row.modelId,
					version: row.modelVersion,
					decision: row.decision,
					channel: row.channel
				},
				n: 1
			});
		probability.record({ model: row.modelId, version: row.modelVersion }, row.probability);
	}
	for (const { attributes, n } of tally.values()) instruments.predictions.add(n, attributes);
}

/** Records one group-commit flush. */
export function recordFlush(rows: number, ms: number, ok: boolean): void {
	const { instruments } = metricsRuntime();
	instruments.flushRows.record(rows);
	instruments.flushDuration.record(ms / 1000, { outcome: ok ? 'ok' : 'error' });
}

/**
 * Reads the pool's and the writer's state at each scrape. Returns the function that stops
 * observing (the pool's counters are kept, so totals never decrease).
 */
export function observeCore(options: {
	pool: InferencePool;
	writer: PredictionWriter;
	maxQueueRows: number;
}): () => void {
	metricsRuntime();
	const entry: ObservedCore = {
		...options,
		busySeconds: 0,
		lastSample: performance.now(),
		timer: setInterval(() => sampleBusy(entry), BUSY_SAMPLE_MS)
	};
	entry.timer.unref();
	observed.add(entry);
	return () => {
		if (!observed.delete(entry)) return;
		clearInterval(entry.timer);
		const stats = entry.pool.stats();
		for (const key of Object.keys(retired.counters) as (keyof PoolStats['counters'])[])
			retired.counters[key] += stats.counters[key];
		stats.batchSizes.counts.forEach((n, i) => (retired.batchCounts[i] = (retired.batchCounts[i] ?? 0) + n));
		retired.batchSum += stats.batchSizes.sum;
		retired.batchCount += stats.batchSizes.count;
		retired.busySeconds += entry.busySeconds;
	};
}

/**
 * Busy time is integrated from the number of busy workers sampled every 100 ms: the pool counts
 * busy workers but not busy time (see docs/observability.md for the hook that would make it exact).
 */
function sampleBusy(entry: ObservedCore): void {
	const now = performance.now();
	entry.busySeconds += (entry.pool.stats().busyWorkers * (now - entry.lastSample)) / 1000;
	entry.lastSample = now;
}

/** Sum of the observed pools' counters and of the retired ones. */
function poolCounters(stats: readonly PoolStats[]): PoolStats['counters'] {
	const total = { ...retired.counters };
	for (const s of stats)
		for (const key of Object.keys(total) as (keyof PoolStats['counters'])[]) total[key] += s.counters[key];
	return total;
}

function registerObservers(meter: Meter): void {
	const gauge = (name: string, description: string, unit?: string) =>
		meter.createObservableGauge(name, { description, unit });
	const counter = (name: string, description: string, unit?: string) =>
		meter.createObservableCounter(name, { description, unit });
	const queueRows = gauge(
		'credible_inference_queue_rows',
		'Rows waiting for an inference worker (what INFERENCE_MAX_QUEUE_ROWS bounds).',
		'{row}'
	);
	const queueCapacity = gauge(
		'credible_inference_queue_capacity_rows',
		'INFERENCE_MAX_QUEUE_ROWS: beyond it scoring answers 503.',
		'{row}'
	);
	const queueTasks = gauge('credible_inference_queue_tasks', 'Batches waiting for a worker.', '{task}');
	const inFlightRows = gauge('credible_inference_in_flight_rows', 'Rows inside workers.', '{row}');
	const workers = gauge('credible_inference_workers', 'Inference worker threads alive.', '{worker}');
	const busyWorkers = gauge(
		'credible_inference_workers_busy',
		'Workers with at least one batch running, at scrape time.',
		'{worker}'
	);
	const busySeconds = counter(
		'credible_inference_worker_busy_seconds_total',
		'Worker-seconds spent with a batch running (sampled every 100 ms); rate / workers = busy ratio.',
		's'
	);
	const rows = counter(
		'credible_inference_rows_total',
		'Rows answered by the workers, by outcome (completed, failed).',
		'{row}'
	);
	const tasks = counter('credible_inference_batches_total', 'Batches answered by the workers.', '{batch}');
	const restarts = counter(
		'credible_inference_worker_restarts_total',
		'Inference workers replaced (after a crash or a timeout).'
	);
	const crashes = counter('credible_inference_worker_crashes_total', 'Inference workers that died.');
	const timeouts = counter(
		'credible_inference_timeouts_total',
		'Batches that exceeded INFERENCE_TASK_TIMEOUT_MS (their worker is replaced).'
	);
	const retries = counter('credible_inference_retries_total', 'Batches retried on another worker.');
	const overloaded = counter(
		'credible_inference_overloaded_total',
		'Calls refused with 503 because the queue was full.'
	);
	const modelErrors = counter('credible_inference_model_errors_total', 'Batches the model failed on.');
	const modelInfo = gauge(
		'credible_model_info',
		'1 for each model version loaded, with its id, version, whether it is the active (champion) one and its state.'
	);
	const rateLimitFallback = counter(
		'credible_rate_limit_fallback_total',
		'Rate-limit decisions taken in memory (per instance) because Redis was unreachable.'
	);
	rateLimitFallback.addCallback((result) => result.observe(rateLimitFallbacks()));
	const writerPending = gauge(
		'credible_prediction_writer_pending_rows',
		'Predictions waiting for the next group commit.',
		'{row}'
	);
	meter.addBatchObservableCallback(
		(result) => {
			const cores = [...observed];
			const stats = cores.map((core) => core.pool.stats());
			const sum = (pick: (s: PoolStats) => number) => stats.reduce((n, s) => n + pick(s), 0);
			result.observe(
				queueRows,
				sum((s) => s.queuedRows)
			);
			result.observe(
				queueCapacity,
				cores.reduce((n, c) => n + c.maxQueueRows, 0)
			);
			result.observe(
				queueTasks,
				sum((s) => s.queuedTasks)
			);
			result.observe(
				inFlightRows,
				sum((s) => s.inFlightRows)
			);
			result.observe(
				workers,
				sum((s) => s.workers)
			);
			result.observe(
				busyWorkers,
				sum((s) => s.busyWorkers)
			);
			result.observe(
				busySeconds,
				cores.reduce((n, c) => n + c.busySeconds, retired.busySeconds)
			);
			const totals = poolCounters(stats);
			result.observe(rows, totals.completedRows, { outcome: 'completed' });
			result.observe(rows, totals.failedRows, { outcome: 'failed' });
			result.observe(tasks, totals.completedTasks);
			result.observe(restarts, totals.restarts);
			result.observe(crashes, totals.crashes);
			result.observe(timeouts, totals.timeouts);
			result.observe(retries, totals.retries);
			result.observe(overloaded, totals.overloaded);
			result.observe(modelErrors, totals.modelErrors);
			observeModels(result, modelInfo, stats);
			result.observe(
				writerPending,
				cores.reduce((n, c) => n + c.writer.stats().pendingRows, 0)
			);
		},
		[
			queueRows,
			queueCapacity,
			queueTasks,
			inFlightRows,
			workers,
			busyWorkers,
			busySeconds,
			rows,
			tasks,
			restarts,
			crashes,
			timeouts,
			retries,
			overloaded,
			modelErrors,
			modelInfo,
			writerPending
		]
	);
}

function observeModels(
	result: BatchObservableResult,
	modelInfo: Observable,
	stats: readonly PoolStats[]
): void {
	for (const s of stats) {
		for (const model of s.models) {
			result.observe(modelInfo, 1, {
				model: model.id,
				version: model.version,
				active: String(model.active),
				state: model.state
			});
		}
	}
}

/** The pool's batch-size histogram, counted on the main thread as batches leave for the workers. */
function batchSizeProducer() {
	return histogramProducer('credible.inference', [
		{
			name: 'credible_inference_batch_rows',
			description: 'Rows per micro-batch sent to an inference worker.',
			unit: '{row}',
			snapshot: () => {
				const stats = [...observed].map((core) => core.pool.stats().batchSizes);
				const bounds = BATCH_SIZE_BOUNDS;
				const counts = new Array<number>(bounds.length + 1).fill(0);
				for (const s of stats) s.counts.forEach((n, i) => (counts[i] = (counts[i] ?? 0) + n));
				retired.batchCounts.forEach((n, i) => (counts[i] = (counts[i] ?? 0) + n));
				return [
					{
						attributes: {},
						bounds,
						counts,
						sum: stats.reduce((n, s) => n + s.sum, retired.batchSum),
						count: stats.reduce((n, s) => n + s.count, retired.batchCount)
					}
				];
			}
		}
	]);
}

function registerProcessMetrics(meter: Meter): void {
	const cpu = meter.createObservableCounter('process_cpu_seconds_total', {
		description: 'User and system CPU time of the process (main thread and workers).',
		unit: 's'
	});
	const rss = meter.createObservableGauge('process_resident_memory_bytes', {
		description: 'Resident memory of the process.',
		unit: 'By'
	});
	const startTime = meter.createObservableGauge('process_start_time_seconds', {
		description: 'Start time of the process since the Unix epoch.',
		unit: 's'
	});
	const started = (Date.now() - performance.now()) / 1000;
	meter.addBatchObservableCallback(
		(result) => {
			const usage = process.cpuUsage();
			result.observe(cpu, (usage.user + usage.system) / 1e6);
			result.observe(rss, process.memoryUsage.rss());
			result.observe(startTime, started);
		},
		[cpu, rss, startTime]
	);
}

/** One feature's PSI as the alert engine last measured it. */
export interface FeaturePsiSample {
	model: string;
	version: string;
	feature: string;
	psi: number;
}

/** `realised` over matured outcomes, `estimated` from the probabilities, `holdout` from the manifest. */
export type AucKind = 'realised' | 'estimated' | 'holdout';

export interface ModelAucSample {
	model: string;
	version: string;
	kind: AucKind;
	auc: number;
}

/**
 * The latest measurements of the alert engine, read at scrape time: replaced whole by each
 * evaluation, so a version or feature no longer measured leaves the exposition. Label values come
 * from the loaded manifests only (live versions × their features), which bounds the cardinality.
 */
const modelQuality = {
	psi: [] as readonly FeaturePsiSample[],
	auc: [] as readonly ModelAucSample[]
};

/** Publishes the per-feature PSIs of one evaluation (the engine calls it each cycle). */
export function publishFeaturePsi(samples: readonly FeaturePsiSample[]): void {
	metricsRuntime();
	modelQuality.psi = [...samples];
}

/** Publishes the AUCs of one performance measurement. */
export function publishModelAuc(samples: readonly ModelAucSample[]): void {
	metricsRuntime();
	modelQuality.auc = [...samples];
}

/**
 * The two gauges as a metric producer rather than observable gauges: the SDK keeps reporting an
 * observable gauge's series after its callback stops observing them, and a PSI of a feature no
 * longer judged must leave the exposition instead of keeping an alert firing.
 */
function modelQualityProducer(): MetricProducer {
	const gauge = (
		name: string,
		description: string,
		points: readonly { attributes: Attributes; value: number }[],
		now: HrTime
	): MetricData => ({
		descriptor: { name, description, unit: '', valueType: ValueType.DOUBLE },
		aggregationTemporality: AggregationTemporality.CUMULATIVE,
		dataPointType: DataPointType.GAUGE,
		dataPoints: points.map((point) => ({ ...point, startTime: now, endTime: now }))
	});
	return {
		collect(): Promise<CollectionResult> {
			const ms = Date.now();
			const now: HrTime = [Math.floor(ms / 1000), (ms % 1000) * 1e6];
			const metrics = [
				gauge(
					'credible_feature_psi',
					'Population stability index of each input feature of a live model version over ALERT_DRIFT_WINDOW_HOURS against the manifest reference (only with at least ALERT_DRIFT_MIN_VALUES values).',
					modelQuality.psi.map((s) => ({
						attributes: { model: s.model, version: s.version, feature: s.feature },
						value: s.psi
					})),
					now
				),
				gauge(
					'credible_model_auc',
					'AUC of a live model version: realised (matured outcomes of ALERT_AUC_WINDOW_DAYS), estimated (expected AUC of the last ALERT_AUC_WINDOW_DAYS of predictions) or holdout (manifest).',
					modelQuality.auc.map((s) => ({
						attributes: { model: s.model, version: s.version, kind: s.kind },
						value: s.auc
					})),
					now
				)
			];
			return Promise.resolve({
				resourceMetrics: {
					resource: emptyResource(),
					scopeMetrics: [{ scope: { name: 'credible.quality' }, metrics }]
				},
				errors: []
			});
		}
	};
}

/** The Prometheus text exposition of every metric, as served at `/metrics`. */
export async function scrapeMetrics(): Promise<string> {
	const { exporter, serializer } = metricsRuntime();
	const { resourceMetrics } = await exporter.collect();
	return serializer.serialize(resourceMetrics);
}

/** Starts the metrics (idempotent); the core calls it so that `/metrics` lists every instrument. */
export function initMetrics(): void {
	metricsRuntime();
}
