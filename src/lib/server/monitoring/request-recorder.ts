/**
 * In-process request statistics for the monitoring page and the alert rules: one bucket per
 * minute for the last 24 hours (a ring of 1,440 slots), each with the count of scoring requests
 * (REST, tRPC and the portal's scoring), of 5xx and of 4xx answers, and a latency histogram. Fed by the request-event bus; reading merges
 * the buckets of a range. Per instance: each instance watches the requests it answered.
 */
import { onRequest, type RequestEvent, type RequestKind } from '../observability/request-events';
import { LatencyHistogram } from './latency-histogram';

export const MINUTE_MS = 60_000;
const SLOTS = 24 * 60;

/**
 * Kinds counted as scoring traffic: the API and the portal's scoring (score form, batch chunks);
 * the portal's other pages and polling are not the service's load.
 */
const API_KINDS: ReadonlySet<RequestKind> = new Set(['rest', 'trpc', 'portal']);

class MinuteBucket {
	count = 0;
	serverErrors = 0;
	clientErrors = 0;
	readonly latency = new LatencyHistogram();
	constructor(readonly minute: number) {}
}

/** Requests over a span of time. */
export interface RequestTotals {
	/** Epoch milliseconds of the span's start (inclusive) and end (exclusive). */
	from: number;
	to: number;
	count: number;
	serverErrors: number;
	clientErrors: number;
	/** serverErrors / count; null without requests. */
	errorRate: number | null;
	p50: number | null;
	p95: number | null;
	p99: number | null;
}

export class RequestRecorder {
	readonly #slots: (MinuteBucket | undefined)[] = new Array<MinuteBucket | undefined>(SLOTS);
	#unsubscribe: (() => void) | undefined;

	/** Starts listening to the request-event bus. */
	start(): this {
		this.#unsubscribe ??= onRequest((event) => this.record(event));
		return this;
	}

	stop(): void {
		this.#unsubscribe?.();
		this.#unsubscribe = undefined;
	}

	/** Counts one finished request (pages and other kinds are ignored). */
	record(event: RequestEvent): void {
		if (!API_KINDS.has(event.kind)) return;
		const minute = Math.floor(event.at / MINUTE_MS);
		const index = ((minute % SLOTS) + SLOTS) % SLOTS;
		let bucket = this.#slots[index];
		if (!bucket || bucket.minute !== minute) {
			// An older minute than the slot holds is beyond 24 hours: drop it rather than erase newer data.
			if (bucket && bucket.minute > minute) return;
			bucket = new MinuteBucket(minute);
			this.#slots[index] = bucket;
		}
		bucket.count += 1;
		if (event.status >= 500) bucket.serverErrors += 1;
		else if (event.status >= 400) bucket.clientErrors += 1;
		bucket.latency.record(event.durationMs);
	}

	/** Totals of the minutes overlapping [from, to). */
	totals(from: number, to: number): RequestTotals {
		const latency = new LatencyHistogram();
		let count = 0;
		let serverErrors = 0;
		let clientErrors = 0;
		const first = Math.floor(from / MINUTE_MS);
		const last = Math.ceil(to / MINUTE_MS) - 1;
		for (let minute = Math.max(first, last - SLOTS + 1); minute <= last; minute++) {
			const bucket = this.#slots[((minute % SLOTS) + SLOTS) % SLOTS];
			if (!bucket || bucket.minute !== minute) continue;
			count += bucket.count;
			serverErrors += bucket.serverErrors;
			clientErrors += bucket.clientErrors;
			latency.merge(bucket.latency);
		}
		return {
			from,
			to,
			count,
			serverErrors,
			clientErrors,
			errorRate: count === 0 ? null : serverErrors / count,
			p50: latency.quantile(0.5),
			p95: latency.quantile(0.95),
			p99: latency.quantile(0.99)
		};
	}

	/** Totals per step of `stepMs` (a whole number of minutes) from `from` to `to`, oldest first. */
	series(from: number, to: number, stepMs: number): RequestTotals[] {
		const out: RequestTotals[] = [];
		for (let start = from; start < to; start += stepMs) out.push(this.totals(start, start + stepMs));
		return out;
	}
}
