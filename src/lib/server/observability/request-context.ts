/**
 * The request a piece of work belongs to, for the logs: every log line written while a request is
 * served carries its request id and trace id (see the mixin in `logger.ts`), including lines
 * written deep inside services that were never handed the id.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isSpanContextValid, trace } from '@opentelemetry/api';

export interface RequestContext {
	requestId: string;
	/** The W3C trace id of the request, when it has one. */
	traceId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/**
 * The request's trace id: the active span's (the SDK's HTTP instrumentation continues the
 * caller's trace or starts one), else the one in the caller's `traceparent` header, so that logs
 * correlate with the caller's trace even when the SDK is off.
 */
export function currentTraceId(traceparent?: string | null): string | undefined {
	const context = trace.getActiveSpan()?.spanContext();
	if (context && isSpanContextValid(context)) return context.traceId;
	const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
	const id = match?.[1];
	return id && !/^0+$/.test(id) ? id : undefined;
}

/** Runs `fn` as part of the request `requestId`. */
export function runInRequest<T>(requestId: string, traceparent: string | null | undefined, fn: () => T): T {
	return storage.run({ requestId, traceId: currentTraceId(traceparent) }, fn);
}

/** The request being served, if any. */
export function requestContext(): RequestContext | undefined {
	return storage.getStore();
}
