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
class Bucket {
	count = 0;
	serverErrors = 0;
	clientErrors = 0;
	readonly latency = new LatencyHistogram();
	constructor(readonly step: number) {}
}

/** A ring of `slots` buckets of `stepMs` each: the last `slots × stepMs` of answers. */
class BucketRing {
	readonly #buckets: (Bucket | undefined)[];
	constructor(
		readonly stepMs: number,
		readonly slots: number
	) {
		this.#buckets = new Array<Bucket | undefined>(slots);
	}

	add(at: number, status: number, durationMs: number): void {
		const step = Math.floor(at / this.stepMs);
		const index = ((step % this.slots) + this.slots) % this.slots;
		let bucket = this.#buckets[index];
		if (!bucket || bucket.step !== step) {
			// An older step than the slot holds is beyond the ring's span: drop it rather than erase newer data.
			if (bucket && bucket.step > step) return;
			bucket = new Bucket(step);
			this.#buckets[index] = bucket;
		}
		bucket.count += 1;
		if (status >= 500) bucket.serverErrors += 1;
		else if (status >= 400) bucket.clientErrors += 1;
		bucket.latency.record(durationMs);
	}

	/** Totals of the steps overlapping [from, to). */
	totals(from: number, to: number): RequestTotals {
		const latency = new LatencyHistogram();
		let count = 0;
		let serverErrors = 0;
		let clientErrors = 0;
		const first = Math.floor(from / this.stepMs);
		const last = Math.ceil(to / this.stepMs) - 1;
		for (let step = Math.max(first, last - this.slots + 1); step <= last; step++) {
			const bucket = this.#buckets[((step % this.slots) + this.slots) % this.slots];
			if (!bucket || bucket.step !== step) continue;
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
/** What a version without any call reads. */
const EMPTY_MODEL_RING = new BucketRing(MODEL_BUCKET_MS, MODEL_SLOTS);

export class RequestRecorder {
	readonly #minutes = new BucketRing(MINUTE_MS, SLOTS);
	/** Per model version (`<id>@<version>`): a ring of 1-second buckets. */
	readonly #models = new Map<string, BucketRing>();
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
		if (!ring) this.#models.set(event.model, (ring = new BucketRing(MODEL_BUCKET_MS, MODEL_SLOTS)));
		ring.add(event.at, event.status, event.durationMs);
	}

	/**
	 * Scoring calls of one model version (`<id>@<version>`) in the 1-second buckets overlapping
	 * [from, to), within the last hour. Refused inputs (4xx) count as calls but not as errors.
	 */
	modelTotals(model: string, from: number, to: number): RequestTotals {
		return (this.#models.get(model) ?? EMPTY_MODEL_RING).totals(from, to);
	}

	/** Counts one finished request (pages and other kinds are ignored). */
	record(event: RequestEvent): void {
		if (API_KINDS.has(event.kind)) this.#minutes.add(event.at, event.status, event.durationMs);
	}

	/** Totals of the minutes overlapping [from, to). */
	totals(from: number, to: number): RequestTotals {
		return this.#minutes.totals(from, to);
	}

	/** Totals per step of `stepMs` (a whole number of minutes) from `from` to `to`, oldest first. */
	series(from: number, to: number, stepMs: number): RequestTotals[] {
		const out: RequestTotals[] = [];
		for (let start = from; start < to; start += stepMs) out.push(this.totals(start, start + stepMs));
		return out;
	}
}
