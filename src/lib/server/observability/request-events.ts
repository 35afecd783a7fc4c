/**
 * One event per finished HTTP request or tRPC call, emitted where the request is answered and
 * consumed by whoever watches traffic: the OpenTelemetry RED metrics and the in-app monitoring
 * page's rolling windows. Listeners run synchronously and must be cheap; one that throws is
 * detached rather than allowed to break a response.
 */

/** Which door a request came through. */
export type RequestKind = 'rest' | 'trpc' | 'page' | 'other';

export interface RequestEvent {
	kind: RequestKind;
	/** A low-cardinality name: the tRPC procedure path or the REST route template, never a raw URL. */
	route: string;
	/** HTTP status code of the answer (for a tRPC call, the status its error maps to, else 200). */
	status: number;
	durationMs: number;
	/** Epoch milliseconds when the answer was sent. */
	at: number;
}

export type RequestListener = (event: RequestEvent) => void;

const listeners = new Set<RequestListener>();

/** Subscribes to request events; returns the function that unsubscribes. */
export function onRequest(listener: RequestListener): () => void {
	listeners.add(listener);
	return () => listeners.delete(listener);
}

/** Publishes one finished request to every listener. */
export function emitRequest(event: RequestEvent): void {
	for (const listener of listeners) {
		try {
			listener(event);
		} catch {
			listeners.delete(listener);
		}
	}
}

/**
 * One scoring call answered for one model version (`<id>@<version>`): what the promotion guard
 * watches, as the request events above do not say which version answered. `status` is the HTTP
 * status the call maps to (200, a 4xx for a refused input, 500 for a failure of the service).
 */
export interface ScoringEvent {
	model: string;
	status: number;
	durationMs: number;
	/** Epoch milliseconds when the call finished. */
	at: number;
}

export type ScoringListener = (event: ScoringEvent) => void;

const scoringListeners = new Set<ScoringListener>();

/** Subscribes to scoring events; returns the function that unsubscribes. */
export function onScoring(listener: ScoringListener): () => void {
	scoringListeners.add(listener);
	return () => scoringListeners.delete(listener);
}

/** Publishes one finished scoring call to every listener. */
export function emitScoring(event: ScoringEvent): void {
	for (const listener of scoringListeners) {
		try {
			listener(event);
		} catch {
			scoringListeners.delete(listener);
		}
	}
}
