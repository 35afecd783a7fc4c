/**
 * A fixed number of POST requests with autocannon, timed from the first request to the last
 * response: what the API benchmarks drive. A fixed count (not a duration) lets autocannon wait
 * for every response, so that the 200s counted equal the decisions the server acknowledged.
 */
import autocannon, { type Result } from 'autocannon';

export interface LoadOptions {
	url: string;
	connections: number;
	amount: number;
	body: string;
	/** Bearer token; none for an unauthenticated route. */
	token?: string;
}

export interface LoadResult {
	requests: number;
	ok: number;
	non2xx: number;
	errors: number;
	/** Requests per second, from the start to the last response. */
	rps: number;
	/** Every response time, ms, ascending (autocannon's summary has no P95). */
	latencies: number[];
	/** `process.hrtime` of the start and of the last response, µs. */
	startedAt: number;
	lastResponseAt: number;
}

const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

export async function fixedLoad(options: LoadOptions): Promise<LoadResult> {
	const latencies: number[] = [];
	// autocannon ends a fixed-count run on its next one-second tick, so its duration rounds up to
	// whole seconds (30,000 requests in 8.2 s read as 8.99 s); the run is timed here instead.
	const startedAt = nowMicros();
	let lastResponseAt = startedAt;
	const result = await new Promise<Result>((resolve, reject) => {
		const instance = autocannon(
			{
				url: options.url,
				method: 'POST',
				connections: options.connections,
				amount: options.amount,
				headers: {
					'content-type': 'application/json',
					...(options.token ? { authorization: `Bearer ${options.token}` } : {})
				},
				body: options.body
			},
			(error, summary) =>
				error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(summary)
		);
		instance.on('response', (_client, _status, _bytes, ms: number) => {
			latencies.push(ms);
			lastResponseAt = nowMicros();
		});
	});
	latencies.sort((a, b) => a - b);
	return {
		requests: result.requests.total,
		ok: result['2xx'],
		non2xx: result.non2xx,
		errors: result.errors,
		rps: (result.requests.total * 1e6) / Math.max(1, lastResponseAt - startedAt),
		latencies,
		startedAt,
		lastResponseAt
	};
}

/** The `p` quantile (0–1) of ascending `sorted` values. */
export function quantileOf(sorted: readonly number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}
