/**
 * Worker threads killed from outside under load: the pool's own Worker objects are terminated
 * (`worker.terminate()`, as a thread that dies of an OOM or a native fault would exit) again and
 * again while callers keep scoring. Every call must settle (a score, or WorkerCrashed, which the
 * scoring service answers as a 503 with Retry-After); none hangs; the pool is back to full size
 * and scores afterwards.
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedBundle } from '../bundle/load-bundle';
import { echoRow, eventually, loadTinyTrees, renamed, WORKER_PATH } from '../test-fixtures/fixtures';
import { WorkerCrashed } from './errors';
import { InferencePool } from './pool';

let base: LoadedBundle;
const pools: InferencePool[] = [];
beforeAll(async () => {
	base = await loadTinyTrees();
});
afterEach(async () => {
	await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** The pool's live worker threads, through its dispatcher (private members, read for the test). */
function threads(pool: InferencePool): Worker[] {
	const handles = pool['dispatcher'].handles;
	return handles.filter((h) => h.alive).map((h) => h['worker']);
}

describe('worker threads killed repeatedly under load', () => {
	it('should settle every call, replace every killed worker and score afterwards', async () => {
		const size = 3;
		const taskTimeoutMs = 5_000;
		const pool = await InferencePool.start({
			size,
			workerPath: WORKER_PATH,
			testModels: true,
			taskTimeoutMs
		});
		pools.push(pool);
		// Slow enough that a kill finds work in flight.
		await pool.load(renamed(base, 'm'), { testModel: { behaviour: 'slow', delayMs: 5 } });

		let stop = false;
		const outcomes = { scored: 0, wrong: 0, crashed: 0, other: [] as unknown[] };
		const callMs: number[] = [];
		const caller = async (k: number) => {
			for (let i = 0; !stop; i++) {
				const sum = k * 100_000 + i;
				const started = performance.now();
				try {
					const s = await pool.scoreOne('m', echoRow(6, sum));
					if (s.margin === sum) outcomes.scored++;
					else outcomes.wrong++;
				} catch (error) {
					if (error instanceof WorkerCrashed) outcomes.crashed++;
					else outcomes.other.push(error);
				}
				callMs.push(performance.now() - started);
			}
		};
		const callers = Array.from({ length: 32 }, (_, k) => caller(k));

		const kills = 12;
		for (let n = 0; n < kills; n++) {
			await eventually(() => threads(pool).length > 0, 'a live worker to kill');
			const victim = threads(pool)[n % threads(pool).length];
			await victim?.terminate();
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		stop = true;
		await Promise.all(callers);

		const { counters } = pool.stats();
		expect(counters.crashes).toBeGreaterThanOrEqual(kills);
		expect(outcomes.wrong).toBe(0);
		expect(outcomes.other).toEqual([]);
		expect(outcomes.scored).toBeGreaterThan(0);
		// Retried once on another worker, or answered WorkerCrashed: no call outlives two task
		// deadlines (a replacement worker starting on a busy machine can take a few seconds).
		expect(Math.max(...callMs)).toBeLessThan(2 * taskTimeoutMs + 2_000);
		await eventually(() => pool.stats().workers === size, 'the replacement workers');
		expect((await pool.scoreOne('m', echoRow(6, 42))).margin).toBe(42);
		console.log(
			`killed ${kills} workers: ${outcomes.scored} scored, ${outcomes.crashed} WorkerCrashed, retries ${counters.retries}, restarts ${counters.restarts}, slowest call ${Math.max(...callMs).toFixed(0)} ms`
		);
	}, 60_000);
});
