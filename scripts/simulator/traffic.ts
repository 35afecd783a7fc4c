/**
 * Sends held-out rows to the scoring API at a steady rate as a service account, and reports
 * their real outcomes afterwards. The transport is a function, so the same code drives a server
 * over HTTP (`httpTransport`) or the API handler in-process (the tests).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RawApplicant } from '../../inference/manifest';

export interface ApiRequest {
	method: 'GET' | 'POST';
	/** Below `/api/v1`, with its query string: `/models/lending-club/score`. */
	path: string;
	headers: Record<string, string>;
	body?: string;
}

export interface ApiResponse {
	status: number;
	headers: Record<string, string>;
	body: string;
}

export type Transport = (request: ApiRequest) => Promise<ApiResponse>;

/** `/api/v1` of the server at `baseUrl`, with `fetch`. A network failure answers status 0. */
export function httpTransport(baseUrl: string): Transport {
	const base = baseUrl.replace(/\/+$/, '');
	return async (request) => {
		try {
			const response = await fetch(`${base}/api/v1${request.path}`, {
				method: request.method,
				headers: request.headers,
				body: request.body
			});
			return {
				status: response.status,
				headers: Object.fromEntries(response.headers),
				body: await response.text()
			};
		} catch (error) {
			return { status: 0, headers: {}, body: error instanceof Error ? error.message : String(error) };
		}
	};
}

export interface Credentials {
	clientId: string;
	clientSecret: string;
}

/**
 * Bearer tokens by the client-credentials grant (`POST /oauth/token`), fetched again when a
 * token has used 80 % of its lifetime or the API answered 401.
 */
export class TokenSource {
	#token: string | null = null;
	#renewAt = 0;

	constructor(
		private readonly transport: Transport,
		private readonly credentials: Credentials
	) {}

	async token(): Promise<string> {
		if (this.#token && performance.now() < this.#renewAt) return this.#token;
		const response = await this.transport({
			method: 'POST',
			path: '/oauth/token',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'client_credentials',
				client_id: this.credentials.clientId,
				client_secret: this.credentials.clientSecret
			}).toString()
		});
		let answer: { access_token?: string; expires_in?: number; error?: string } = {};
		try {
			answer = JSON.parse(response.body) as typeof answer;
		} catch {
			// not JSON: reported below with the status
		}
		if (response.status === 0) throw new Error(`could not reach the server: ${response.body}`);
		if (response.status !== 200 || !answer.access_token)
			throw new Error(
				`the token exchange answered ${response.status}${answer.error ? ` (${answer.error})` : ''}: check the client id and secret`
			);
		this.#token = answer.access_token;
		this.#renewAt = performance.now() + 0.8 * (answer.expires_in ?? 60) * 1000;
		return this.#token;
	}

	/** Forgets the token (after a 401), so that the next call fetches a new one. */
	invalidate(): void {
		this.#token = null;
	}
}

export interface SentRow<T> {
	item: T;
	predictionId: string;
	probability: number;
}

export interface TrafficOptions<T> {
	transport: Transport;
	tokens: TokenSource;
	model: string;
	version?: string;
	/** The rows to send, in order: an applicant and what to remember of it (its label). */
	rows: Iterable<{ applicant: RawApplicant; item: T }>;
	/** Target applicants per second. */
	rate: number;
	/** Requests in flight at most; beyond it the sender waits (the achieved rate then falls). */
	concurrency: number;
	/** Applicants per request: 1 calls `/score`, more call `/score/batch`. */
	batchSize: number;
	/** Called after every answered request. */
	onProgress?: (progress: TrafficSummary<T>) => void;
}

export interface TrafficSummary<T> {
	/** Applicants sent. */
	sent: number;
	/** Applicants scored (and recorded). */
	ok: number;
	/** Requests by HTTP status (0: no answer); a batch's rejected rows count under `rejected-row`. */
	statuses: Record<string, number>;
	/** The first answer of each failing status, to show why. */
	examples: Record<string, string>;
	requests: number;
	elapsedSeconds: number;
	/** Applicants sent per second over the run. */
	achievedRate: number;
	scored: SentRow<T>[];
}

/**
 * Sends the rows: applicant i leaves at i / rate seconds after the start (a batch when its first
 * row is due), with at most `concurrency` requests in flight. Resolves when every request is
 * answered. Pacing uses the monotonic clock, never `Date`.
 */
export async function sendTraffic<T>(options: TrafficOptions<T>): Promise<TrafficSummary<T>> {
	const { transport, tokens, model, rate, concurrency, batchSize } = options;
	const summary: TrafficSummary<T> = {
		sent: 0,
		ok: 0,
		statuses: {},
		examples: {},
		requests: 0,
		elapsedSeconds: 0,
		achievedRate: 0,
		scored: []
	};
	const count = (status: string, body: string, n = 1) => {
		summary.statuses[status] = (summary.statuses[status] ?? 0) + n;
		if (status !== '200' && !(status in summary.examples)) summary.examples[status] = body.slice(0, 300);
	};
	const started = performance.now();
	const inFlight = new Set<Promise<void>>();
	const path = `/models/${encodeURIComponent(model)}/score${batchSize > 1 ? '/batch' : ''}`;

	async function post(batch: { applicant: RawApplicant; item: T }[]): Promise<void> {
		const body = JSON.stringify(
			batchSize > 1
				? { version: options.version, applicants: batch.map((r) => r.applicant) }
				: { version: options.version, applicant: batch[0]!.applicant }
		);
		let response: ApiResponse;
		for (let attempt = 0; ; attempt++) {
			const token = await tokens.token();
			response = await transport({
				method: 'POST',
				path,
				headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
				body
			});
			// An expired token is renewed once; any other answer is what the run reports.
			if (response.status !== 401 || attempt > 0) break;
			tokens.invalidate();
		}
		summary.requests++;
		count(String(response.status), response.body);
		if (response.status !== 200) return;
		if (batchSize > 1) {
			const answer = JSON.parse(response.body) as {
				results: ({ ok: true; index: number; predictionId: string; probability: number } | { ok: false })[];
			};
			answer.results.forEach((result, i) => {
				if (!result.ok) return count('rejected-row', JSON.stringify(result));
				summary.ok++;
				summary.scored.push({
					item: batch[i]!.item,
					predictionId: result.predictionId,
					probability: result.probability
				});
			});
		} else {
			const answer = JSON.parse(response.body) as { predictionId: string; probability: number };
			summary.ok++;
			summary.scored.push({
				item: batch[0]!.item,
				predictionId: answer.predictionId,
				probability: answer.probability
			});
		}
		options.onProgress?.(summary);
	}

	let batch: { applicant: RawApplicant; item: T }[] = [];
	const flush = async () => {
		const due = started + ((summary.sent - batch.length) / rate) * 1000;
		const wait = due - performance.now();
		if (wait > 0) await sleep(wait);
		while (inFlight.size >= concurrency) await Promise.race(inFlight);
		const request = post(batch).finally(() => inFlight.delete(request));
		inFlight.add(request);
		batch = [];
	};
	for (const row of options.rows) {
		batch.push(row);
		summary.sent++;
		if (batch.length === batchSize) await flush();
	}
	if (batch.length > 0) await flush();
	await Promise.all(inFlight);
	summary.elapsedSeconds = (performance.now() - started) / 1000;
	summary.achievedRate = summary.sent / summary.elapsedSeconds;
	return summary;
}

/** The most rows `POST /outcomes` takes in one call. */
export const OUTCOMES_PER_CALL = 10_000;

export interface OutcomeCounts {
	recorded: number;
	corrected: number;
	unchanged: number;
	rejected: number;
	calls: number;
	/** Calls that did not answer 200, by status. */
	failedCalls: Record<string, number>;
}

/**
 * Reports the real outcome of each scored row (`POST /outcomes`, up to 10,000 per call):
 * `defaulted` is its label, `observedAt` the given UTC day (default today).
 */
export async function reportOutcomes(
	transport: Transport,
	tokens: TokenSource,
	rows: readonly { predictionId: string; defaulted: boolean }[],
	observedAt: string = new Date().toISOString().slice(0, 10)
): Promise<OutcomeCounts> {
	const counts: OutcomeCounts = {
		recorded: 0,
		corrected: 0,
		unchanged: 0,
		rejected: 0,
		calls: 0,
		failedCalls: {}
	};
	for (let i = 0; i < rows.length; i += OUTCOMES_PER_CALL) {
		const outcomes = rows
			.slice(i, i + OUTCOMES_PER_CALL)
			.map((r) => ({ predictionId: r.predictionId, defaulted: r.defaulted, observedAt }));
		const response = await transport({
			method: 'POST',
			path: '/outcomes',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokens.token()}` },
			body: JSON.stringify({ outcomes, source: 'api' })
		});
		counts.calls++;
		if (response.status !== 200) {
			counts.failedCalls[response.status] = (counts.failedCalls[response.status] ?? 0) + 1;
			continue;
		}
		const answer = JSON.parse(response.body) as { counts: Omit<OutcomeCounts, 'calls' | 'failedCalls'> };
		counts.recorded += answer.counts.recorded;
		counts.corrected += answer.counts.corrected;
		counts.unchanged += answer.counts.unchanged;
		counts.rejected += answer.counts.rejected;
	}
	return counts;
}

export interface PerformanceReadout {
	status: number;
	/** The day range of the decisions read, UTC. */
	from: string;
	to: string;
	predictions?: number;
	labelled?: number;
	defaults?: number;
	realisedAuc?: { value: number; standardError: number | null } | null;
	estimatedAuc?: number | null;
	error?: string;
}

/**
 * Realised performance of the days `from`..`to` with the outcome maturity shortened to 0 months
 * (`GET /models/{model}/performance?maturityMonths=0`), so that outcomes just reported count at
 * once. Needs a risk_manager or admin account; another role's 403 is returned as it is.
 */
export async function readPerformance(
	transport: Transport,
	tokens: TokenSource,
	model: string,
	version: string,
	from: string,
	to: string
): Promise<PerformanceReadout> {
	const query = new URLSearchParams({ version, from, to, maturityMonths: '0' });
	const response = await transport({
		method: 'GET',
		path: `/models/${encodeURIComponent(model)}/performance?${query}`,
		headers: { authorization: `Bearer ${await tokens.token()}` }
	});
	if (response.status !== 200)
		return { status: response.status, from, to, error: response.body.slice(0, 300) };
	const answer = JSON.parse(response.body) as {
		versions: {
			overall: {
				predictions: number;
				labelled: number;
				estimated: { auc: number | null };
				realised: { defaults: number; auc: { value: number; standardError: number | null } | null } | null;
			};
		}[];
	};
	const overall = answer.versions[0]?.overall;
	return {
		status: 200,
		from,
		to,
		predictions: overall?.predictions ?? 0,
		labelled: overall?.labelled ?? 0,
		defaults: overall?.realised?.defaults ?? 0,
		realisedAuc: overall?.realised?.auc ?? null,
		estimatedAuc: overall?.estimated.auc ?? null
	};
}
