// The Prometheus reader shared by the SDK bootstrap (`register.js`) and by the in-process fallback
// of `src/lib/server/observability/metrics.ts` (tests, `vite dev`, OTEL_SDK_DISABLED=true), so that
// `/metrics` has the same shape whether or not the SDK is loaded.
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { emptyResource } from '@opentelemetry/resources';

const PRODUCERS_KEY = Symbol.for('credible.metricProducers');

/**
 * Metric producers registered by the application: metrics that are already aggregated elsewhere
 * (the inference pool's batch-size histogram, counted on the main thread from what the workers
 * return) and are copied as they are at each scrape instead of being re-recorded.
 *
 * @returns {Set<import('@opentelemetry/sdk-metrics').MetricProducer>}
 */
export function metricProducers() {
	const holder =
		/** @type {Record<symbol, Set<import('@opentelemetry/sdk-metrics').MetricProducer> | undefined>} */ (
			/** @type {unknown} */ (globalThis)
		);
	return (holder[PRODUCERS_KEY] ??= new Set());
}

/** @type {import('@opentelemetry/sdk-metrics').MetricProducer} */
const applicationProducers = {
	async collect(options) {
		const results = await Promise.all([...metricProducers()].map((producer) => producer.collect(options)));
		const [first] = results;
		return {
			resourceMetrics: {
				// The reader keeps the SDK's resource; this one is never serialised.
				resource: first?.resourceMetrics.resource ?? emptyResource(),
				scopeMetrics: results.flatMap((result) => result.resourceMetrics.scopeMetrics)
			},
			errors: results.flatMap((result) => result.errors)
		};
	}
};

/**
 * A Prometheus exporter that never opens its own port: `/metrics` is served by Credible's own
 * server (main port and/or METRICS_PORT), which calls `collect()` and serialises.
 */
export function createPrometheusReader() {
	return new PrometheusExporter({
		preventServerStart: true,
		withoutScopeInfo: true,
		metricProducers: [applicationProducers]
	});
}
