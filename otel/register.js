// OpenTelemetry bootstrap. Loaded before the application, either by `server.js` (its first import)
// or explicitly with `node --import ./otel/register.js …`; loading it twice is harmless.
//
// - Metrics: a MeterProvider whose only reader is a Prometheus exporter without its own port;
//   Credible serves `/metrics` itself (see docs/observability.md).
// - Traces: W3C `traceparent` is always honoured (incoming trace ids reach the logs), but spans are
//   recorded and exported (OTLP over HTTP/protobuf) only when OTEL_EXPORTER_OTLP_ENDPOINT (or
//   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Without it no tracer provider is registered and the
//   HTTP instrumentation is not installed, so the hot path pays for no span and no span context.
// - OTEL_SDK_DISABLED=true turns all of this off; `/metrics` then still works from an in-process
//   MeterProvider.
import { createRequire } from 'node:module';

const TELEMETRY_KEY = Symbol.for('credible.telemetry');
/** Paths whose requests never get a server span: probes, scrapes and static assets. */
const UNTRACED = /^\/(metrics|healthz|readyz|favicon\.|robots\.txt|_app\/)/;

/** @param {string | undefined} value */
function flag(value) {
	return /^(true|1|yes)$/i.test(value ?? '');
}

/** @typedef {{ sdk: import('@opentelemetry/sdk-node').NodeSDK; exporter: import('@opentelemetry/exporter-prometheus').PrometheusExporter; tracing: boolean; shutdown(): Promise<void> }} Telemetry */

/** @returns {Promise<Telemetry>} */
async function start() {
	const [{ NodeSDK }, { HttpInstrumentation }, { resourceFromAttributes }, { createNoopMeter }, reader] =
		await Promise.all([
			import('@opentelemetry/sdk-node'),
			import('@opentelemetry/instrumentation-http'),
			import('@opentelemetry/resources'),
			import('@opentelemetry/api'),
			import('./prometheus.js')
		]);
	const require = createRequire(import.meta.url);
	const { version } = /** @type {{ version: string }} */ (require('../package.json'));
	const endpoint =
		process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT || '';
	const tracing = endpoint !== '';
	const exporter = reader.createPrometheusReader();

	// The HTTP instrumentation only when spans are recorded: without a tracer provider its spans are
	// no-ops, and what it would still do (bind a context to every request and its callbacks) cost
	// 27 µs of the main thread's ~206 per score (docs/performance.md, "Cost budget per stage"). Logs
	// keep the caller's trace id without it: `currentTraceId` reads the `traceparent` header.
	const http = tracing
		? new HttpInstrumentation({
				ignoreIncomingRequestHook: (request) => UNTRACED.test(request.url ?? '/'),
				// Outgoing calls (OTLP export, Redis is not HTTP) only matter inside a traced request.
				requireParentforOutgoingSpans: true
			})
		: null;

	/** @type {Partial<import('@opentelemetry/sdk-node').NodeSDKConfiguration>} */
	const config = {
		resource: resourceFromAttributes({ 'service.name': 'credible', 'service.version': version }),
		metricReaders: [exporter],
		instrumentations: http ? [http] : []
	};
	if (tracing) {
		const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
		config.traceExporter = new OTLPTraceExporter();
	} else {
		// No processor: NodeSDK then registers no tracer provider (the API's no-op one stays), instead
		// of defaulting to an OTLP exporter aimed at localhost.
		config.spanProcessors = [];
	}
	const sdk = new NodeSDK(config);
	sdk.start();
	if (http) {
		// Credible records its own request metrics (RED per route and procedure, through the request
		// event bus); the HTTP instrumentation's duplicate per-request histograms would only cost time.
		http.setMeterProvider({ getMeter: () => createNoopMeter() });
		// The HTTP instrumentation patches `http.Server.prototype.emit` when `http` is required; the
		// server imports it as an ES module, which does not go through `require`, so require it once.
		require('node:http');
		require('node:https');
	}

	let stopped = false;
	return {
		sdk,
		exporter,
		tracing,
		async shutdown() {
			if (stopped) return;
			stopped = true;
			// Flushes buffered spans to the collector; bounded so that a dead collector cannot hold the exit.
			await Promise.race([sdk.shutdown(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
		}
	};
}

const holder = /** @type {Record<symbol, Telemetry | undefined>} */ (/** @type {unknown} */ (globalThis));
if (!flag(process.env.OTEL_SDK_DISABLED) && !holder[TELEMETRY_KEY]) {
	holder[TELEMETRY_KEY] = await start();
}
