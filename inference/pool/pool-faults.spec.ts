/**
 * The pool under failure: a model that throws, a worker that crashes or hangs, a full queue, and
 * close() with work in flight. Waits are on outcomes (promises, polled state), never on timing.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedBundle } from '../bundle/load-bundle';
import { echoRow, eventually, faults, loadTinyTrees, renamed, WORKER_PATH } from '../test-fixtures/fixtures';
import {
	InferenceTimeout,
	ModelError,
	Overloaded,
	PoolClosed,
	serializeError,
	WorkerCrashed
} from './errors';
import type { TestModelSpec } from './messages';
import { InferencePool, type PoolOptions } from './pool';

let base: LoadedBundle;
const pools: InferencePool[] = [];
beforeAll(async () => {
	base = await loadTinyTrees();
});
afterEach(async () => {
	await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function poolWith(test: TestModelSpec, options: PoolOptions = {}): Promise<InferencePool> {
	const pool = await InferencePool.start({ size: 2, workerPath: WORKER_PATH, testModels: true, ...options });
	pools.push(pool);
	await pool.load(renamed(base, 'm'), { testModel: test });
	return pool;
}

const row = (sum: number): Float32Array => echoRow(6, sum);

describe('a model that throws', () => {
	it('should fail the call with a named error that carries no worker stack', async () => {
		const pool = await poolWith({ behaviour: 'error' });
		const e = await pool.scoreOne('m', row(1)).catch((err: unknown) => err);
		expect(e).toBeInstanceOf(ModelError);
		expect(e).toMatchObject({ name: 'ModelError', code: 'MODEL_ERROR', remoteName: 'ErrorModelFailure' });
		expect((e as Error).message).toContain('ErrorModel always fails');
		expect((e as Error).stack ?? '').not.toMatch(/test-models|inference-worker\.mjs/);
		expect(pool.stats().counters).toMatchObject({ modelErrors: 1, crashes: 0, restarts: 0 });
		expect(pool.stats().workers).toBe(2);
	});

	it('should serialise errors as name, message and code only', () => {
		const e = Object.assign(new Error('boom'), { code: 'X', secret: 1 });
		expect(serializeError(e)).toEqual({ name: 'Error', message: 'boom', code: 'X' });
	});
});

describe('a worker that crashes', () => {
	it('should be replaced, and its rows retried once on another worker', async () => {
		const pool = await poolWith({ behaviour: 'crash', faults: faults(1) });
		const scores = await Promise.all([1, 2, 3].map((k) => pool.scoreOne('m', row(k))));
		expect(scores.map((s) => s.margin)).toEqual([1, 2, 3]);
		expect(pool.stats().counters).toMatchObject({ crashes: 1, retries: 1, failedRows: 0 });
		await eventually(
			() => pool.stats().workers === 2 && pool.stats().counters.restarts === 1,
			'the replacement worker'
		);
		expect((await pool.scoreOne('m', row(4))).margin).toBe(4);
	});

	it('should fail with WorkerCrashed when the retry crashes too, and keep serving others', async () => {
		const pool = await poolWith({ behaviour: 'crash' });
		await pool.load(renamed(base, 'ok'), { testModel: { behaviour: 'echo' } });
		await expect(pool.scoreOne('m', row(1))).rejects.toMatchObject({
			name: 'WorkerCrashed',
			code: 'WORKER_CRASHED'
		});
		expect(pool.stats().counters).toMatchObject({ crashes: 2, retries: 1, failedRows: 1 });
		await eventually(() => pool.stats().workers === 2, 'the replacement workers');
		expect((await pool.scoreOne('ok', row(5))).margin).toBe(5);
	});

	it('should re-send the tasks queued behind the crashed one without counting them as attempts', async () => {
		const pool = await poolWith({ behaviour: 'crash', faults: faults(1) }, { size: 1, maxBatchRows: 1 });
		const scores = await Promise.all(Array.from({ length: 6 }, (_, k) => pool.scoreOne('m', row(k))));
		expect(scores.map((s) => s.margin)).toEqual([0, 1, 2, 3, 4, 5]);
		expect(pool.stats().counters).toMatchObject({ crashes: 1, retries: 1, failedRows: 0 });
	});
});

describe('a worker that hangs', () => {
	it('should be terminated at the deadline and its rows retried on another worker', async () => {
		const pool = await poolWith({ behaviour: 'hang', faults: faults(1) }, { taskTimeoutMs: 1000 });
		const s = await pool.scoreOne('m', row(7));
		expect(s.margin).toBe(7);
		expect(pool.stats().counters).toMatchObject({ timeouts: 1, retries: 1 });
		await eventually(() => pool.stats().workers === 2, 'the replacement worker');
	});

	it('should fail with InferenceTimeout when the retry hangs too — never hang the caller', async () => {
		const pool = await poolWith({ behaviour: 'hang' }, { taskTimeoutMs: 1000 });
		const e = await pool.scoreOne('m', row(1)).catch((err: unknown) => err);
		expect(e).toBeInstanceOf(InferenceTimeout);
		expect(e).toMatchObject({ code: 'INFERENCE_TIMEOUT' });
		expect(pool.stats().counters.timeouts).toBe(2);
	});
});

describe('backpressure', () => {
	it('should fail fast with Overloaded once maxQueue rows are waiting, and answer the admitted ones', async () => {
		const pool = await poolWith(
			{ behaviour: 'slow', delayMs: 50 },
			{ size: 1, maxQueue: 10, maxBatchRows: 2, maxInFlightPerWorker: 1 }
		);
		const calls = Array.from({ length: 15 }, (_, k) =>
			pool.scoreOne('m', row(k)).then(
				(s) => s.margin,
				(e: unknown) => e
			)
		);
		const results = await Promise.all(calls);
		const rejected = results.filter((r): r is Overloaded => r instanceof Overloaded);
		expect(rejected).toHaveLength(5);
		expect(results.slice(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
		for (const e of rejected) {
			expect(e).toMatchObject({ name: 'Overloaded', code: 'OVERLOADED' });
			expect(e.retryAfterSeconds).toBeGreaterThanOrEqual(1);
		}
		expect(pool.stats().counters.overloaded).toBe(5);
	});

	it('should admit a call larger than the queue when the queue is empty', async () => {
		const pool = await poolWith({ behaviour: 'echo' }, { maxQueue: 10 });
		const batch = await pool.scoreBatch('m', new Float32Array(6 * 50));
		expect(batch.rows).toBe(50);
	});
});

describe('close()', () => {
	it('should drain everything admitted before stopping the workers', async () => {
		const pool = await poolWith({ behaviour: 'slow', delayMs: 20 }, { maxBatchRows: 4 });
		const calls = Array.from({ length: 40 }, (_, k) => pool.scoreOne('m', row(k)));
		const closed = pool.close();
		await expect(pool.scoreOne('m', row(1))).rejects.toBeInstanceOf(PoolClosed);
		const margins = (await Promise.all(calls)).map((s) => s.margin);
		await closed;
		expect(margins).toEqual(Array.from({ length: 40 }, (_, k) => k));
		expect(pool.stats().workers).toBe(0);
	});
});

describe('start-up', () => {
	it('should refuse test models unless enabled', async () => {
		const pool = await InferencePool.start({ size: 1, workerPath: WORKER_PATH });
		pools.push(pool);
		await expect(pool.load(renamed(base, 'x'), { testModel: { behaviour: 'echo' } })).rejects.toThrow(
			/testModels/
		);
	});

	it('should fail with WorkerNotFound when the worker is not built', async () => {
		await expect(InferencePool.start({ workerPath: '/nonexistent/worker.mjs' })).rejects.toMatchObject({
			name: 'WorkerNotFound'
		});
	});

	it('should report a model that fails to load, naming it', async () => {
		const broken = { ...renamed(base, 'broken'), modelBytes: new Uint8Array([9, 9, 9]) };
		await expect(
			InferencePool.start({ size: 1, workerPath: WORKER_PATH, bundles: [broken] })
		).rejects.toThrow(/broken@trees-1.0.0/);
	});

	it('should keep WorkerCrashed distinct from timeouts', () => {
		expect(new WorkerCrashed('x').code).not.toBe(new InferenceTimeout('x').code);
	});
});
