/**
 * One event per finished HTTP request or tRPC call, emitted where the request is answered and
 * consumed by whoever watches traffic: the OpenTelemetry RED metrics and the in-app monitoring
 * page's rolling windows. Listeners run synchronously and must be cheap; one that throws is
 * detached rather than allowed to break a response.
 */

/**
 * Which door a request came through: the REST API, tRPC, a portal request that scores (the score
 * form's action, a batch chunk), any other page, or something else (health checks, assets).
 */
export type RequestKind = 'rest' | 'trpc' | 'portal' | 'page' | 'other';

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

/** Portal routes whose POST records decisions: counted with the API as scoring traffic. */
const PORTAL_SCORING_ROUTES: ReadonlySet<string> = new Set(['/score/[model]', '/batch/[model]/score']);

/** The kind of a SvelteKit route's request (not `/trpc` or `/api/v1`, which report themselves). */
export function portalRequestKind(method: string, routeId: string): RequestKind {
	if (method === 'POST' && PORTAL_SCORING_ROUTES.has(routeId)) return 'portal';
	const page = !routeId.startsWith('/api') && routeId !== '/healthz' && routeId !== '/readyz';
	return page ? 'page' : 'other';
}

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
