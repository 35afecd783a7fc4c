/**
 * Credible's own spans (validation, inference, persistence), children of the HTTP server span that
 * the OpenTelemetry HTTP instrumentation opens from the incoming `traceparent`. A span is made only
 * when the current one is recording, that is when an OTLP endpoint is configured and the request
 * is sampled: without tracing, these helpers call the function and nothing else.
 */
import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

const tracer = trace.getTracer('credible');

function fail(span: Span, error: unknown): void {
	span.recordException(error instanceof Error ? error : String(error));
	span.setStatus({ code: SpanStatusCode.ERROR });
}

/** Runs `fn` inside a child span of the current one, when the current one is being recorded. */
export async function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
	if (!trace.getActiveSpan()?.isRecording()) return fn();
	return tracer.startActiveSpan(name, { attributes }, async (span) => {
		try {
			return await fn();
		} catch (error) {
			fail(span, error);
			throw error;
		} finally {
			span.end();
		}
	});
}

/** The synchronous form of {@link inSpan}. */
export function inSpanSync<T>(name: string, attributes: Attributes, fn: () => T): T {
	if (!trace.getActiveSpan()?.isRecording()) return fn();
	return tracer.startActiveSpan(name, { attributes }, (span) => {
		try {
			return fn();
		} catch (error) {
			fail(span, error);
			throw error;
		} finally {
			span.end();
		}
	});
}

/**
 * Records, after the fact, a span of work that served many requests at once (a group-commit
 * flush): its own trace, since it has no single parent. Only when tracing is on.
 */
export function recordDetachedSpan(
	name: string,
	durationMs: number,
	attributes: Attributes,
	ok: boolean,
	tracing: boolean
): void {
	if (!tracing) return;
	const end = Date.now();
	const span = tracer.startSpan(name, { attributes, startTime: new Date(end - durationMs), root: true });
	if (!ok) span.setStatus({ code: SpanStatusCode.ERROR });
	span.end(new Date(end));
}

/** Names the HTTP server span after the route template (a raw URL would be high-cardinality). */
export function nameServerSpan(route: string): void {
	const span = trace.getActiveSpan();
	if (!span?.isRecording()) return;
	span.updateName(route);
	span.setAttribute('http.route', route);
}
