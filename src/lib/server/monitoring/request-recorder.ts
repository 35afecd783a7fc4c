/**
 * In-process request statistics for the monitoring page and the alert rules: one bucket per
 * minute for the last 24 hours (a ring of 1,440 slots), each with the count of scoring requests
 * (REST, tRPC and the portal's scoring), of 5xx and of 4xx answers, and a latency histogram. Fed by the request-event bus; reading merges
 * the buckets of a range. Per instance: each instance watches the requests it answered.
 *
 * Beside them, per model version, the scoring calls of the last hour in 1-second buckets (fed by
 * the scoring events): what the promotion guard reads for a new champion's errors and latency.
 */
import {
	onRequest,
	onScoring,
	type RequestEvent,
	type RequestKind,
	type ScoringEvent
} from '../observability/request-events';
import { LatencyHistogram } from './latency-histogram';

export const MINUTE_MS = 60_000;
const SLOTS = 24 * 60;

/**
 * Kinds counted as scoring traffic: the API and the portal's scoring (score form, batch chunks);
 * the portal's other pages and polling are not the service's load.
 */
const API_KINDS: ReadonlySet<RequestKind> = new Set(['rest', 'trpc', 'portal']);

/** Counts of one time step: a minute, or a second for the per-version buckets. */
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

/** Width and number of the per-version buckets: one hour of 1-second buckets. */
export const MODEL_BUCKET_MS = 1_000;
const MODEL_SLOTS = 3600;

export class RequestRecorder {
	readonly #slots: (MinuteBucket | undefined)[] = new Array<MinuteBucket | undefined>(SLOTS);
	/** Per model version (`<id>@<version>`): a ring of 1-second buckets. */
	readonly #models = new Map<string, (MinuteBucket | undefined)[]>();
	#unsubscribe: (() => void) | undefined;

	/** Starts listening to the request-event and scoring-event buses. */
	start(): this {
		if (!this.#unsubscribe) {
			const requests = onRequest((event) => this.record(event));
			const scoring = onScoring((event) => this.recordScoring(event));
			this.#unsubscribe = () => {
				requests();
				scoring();
			};
		}
		return this;
	}

	stop(): void {
		this.#unsubscribe?.();
		this.#unsubscribe = undefined;
	}

	/** Counts one scoring call of a model version. */
	recordScoring(event: ScoringEvent): void {
		let ring = this.#models.get(event.model);
		if (!ring) {
			ring = new Array<MinuteBucket | undefined>(MODEL_SLOTS);
			this.#models.set(event.model, ring);
		}
		const step = Math.floor(event.at / MODEL_BUCKET_MS);
		const index = ((step % MODEL_SLOTS) + MODEL_SLOTS) % MODEL_SLOTS;
		let bucket = ring[index];
		if (!bucket || bucket.minute !== step) {
			if (bucket && bucket.minute > step) return;
			bucket = new MinuteBucket(step);
			ring[index] = bucket;
		}
		bucket.count += 1;
		if (event.status >= 500) bucket.serverErrors += 1;
		else if (event.status >= 400) bucket.clientErrors += 1;
		bucket.latency.record(event.durationMs);
	}

	/**
	 * Scoring calls of one model version (`<id>@<version>`) in the 1-second buckets overlapping
	 * [from, to), within the last hour. Refused inputs (4xx) count as calls but not as errors.
	 */
	modelTotals(model: string, from: number, to: number): RequestTotals {
		const latency = new LatencyHistogram();
		let count = 0;
		let serverErrors = 0;
		let clientErrors = 0;
		const ring = this.#models.get(model);
		const first = Math.floor(from / MODEL_BUCKET_MS);
		const last = Math.ceil(to / MODEL_BUCKET_MS) - 1;
		for (let step = Math.max(first, last - MODEL_SLOTS + 1); ring && step <= last; step++) {
			const bucket = ring[((step % MODEL_SLOTS) + MODEL_SLOTS) % MODEL_SLOTS];
			if (!bucket || bucket.minute !== step) continue;
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
