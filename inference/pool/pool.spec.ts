import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEncoder } from '../bundle/encoder';
import { readGolden, type LoadedBundle } from '../bundle/load-bundle';
import { InvalidInput } from '../errors';
import type { GoldenRow } from '../manifest';
import { echoRow, loadTinyLinear, loadTinyTrees, renamed, WORKER_PATH } from '../test-fixtures/fixtures';
import { maxRowsPerSlot } from './channel';
import { ModelNotFound, PoolClosed } from './errors';
import { InferencePool, type PoolOptions } from './pool';

let trees: LoadedBundle;
let linear: LoadedBundle;
let golden: GoldenRow[];
const pools: InferencePool[] = [];

beforeAll(async () => {
	trees = await loadTinyTrees();
	linear = await loadTinyLinear();
	golden = await readGolden(trees);
});
afterEach(async () => {
	await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function start(options: PoolOptions): Promise<InferencePool> {
	const pool = await InferencePool.start({ size: 2, workerPath: WORKER_PATH, ...options });
	pools.push(pool);
	return pool;
}

describe('InferencePool scoring', () => {
	it('should give every concurrent caller its own rows back, batched', async () => {
		const pool = await start({ testModels: true });
		await pool.load(renamed(trees, 'echo'), { testModel: { behaviour: 'echo' } });
		const n = 2000;
		// Distinct margins; calls of 1 to 3 rows, all issued in the same tick.
		const calls = Array.from({ length: n }, (_, i) => {
			const rows = new Float32Array(6 * (1 + (i % 3)));
			for (let r = 0; r < rows.length / 6; r++) rows[r * 6] = i * 10 + r;
			return pool.score('echo', rows);
		});
		const results = await Promise.all(calls);
		results.forEach((scores, i) => {
			expect(scores).toHaveLength(1 + (i % 3));
			scores.forEach((s, r) => expect(s.margin).toBe(i * 10 + r));
		});
		const stats = pool.stats();
		expect(stats.counters.completedRows).toBe(results.reduce((k, s) => k + s.length, 0));
		expect(stats.batchSizes.count).toBeLessThan(n);
		expect(stats.queuedRows + stats.inFlightRows).toBe(0);
	});

	it('should score raw applicants like the golden file, with SHAP, under concurrency', async () => {
		const pool = await start({ bundles: [trees] });
		const order = golden.map((_, i) => (i * 7) % golden.length);
		const scores = await Promise.all(
			order.map((i) => pool.scoreOne('tiny', golden[i]?.raw ?? {}, { explain: true }))
		);
		scores.forEach((s, k) => {
			const g = golden[order[k] ?? 0];
			expect(s.version).toBe('trees-1.0.0');
			expect(Math.abs(s.probability - (g?.probability ?? NaN))).toBeLessThan(1e-6);
			for (const [f, v] of Object.entries(g?.shap ?? {}))
				expect(Math.abs((s.shap?.[f] ?? NaN) - v)).toBeLessThan(1e-9);
		});
	});

	it('should split a big batch across the workers and keep the rows in order', async () => {
		const pool = await start({ bundles: [trees], maxBatchRows: 64 });
		const enc = createEncoder(trees.manifest);
		const raws = Array.from({ length: 5000 }, (_, i) => golden[i % golden.length]?.raw ?? {});
		const batch = await pool.scoreBatch('tiny', raws, { explain: true });
		expect(batch.rows).toBe(5000);
		const single = await pool.score('tiny', enc.encodeMany(golden.map((g) => g.raw)), { explain: true });
		for (let i = 0; i < 5000; i++) {
			const s = single[i % golden.length];
			expect(batch.probability[i]).toBe(s?.probability);
			expect(batch.shap?.[i * 4 + 2]).toBe(s?.shap?.grade);
		}
		const perWorker = pool.stats().perWorker;
		expect(perWorker).toHaveLength(2);
		for (const w of perWorker) expect(w.completedTasks).toBeGreaterThan(10);
	});

	it('should split a batch larger than a worker ring slot and answer every row in order', async () => {
		const pool = await start({ testModels: true, maxBatchRows: 1_000_000 });
		await pool.load(renamed(trees, 'echo'), { testModel: { behaviour: 'echo' } });
		const perSlot = maxRowsPerSlot(6, 4);
		const n = 2 * perSlot + 123;
		const rows = new Float32Array(6 * n);
		for (let r = 0; r < n; r++) rows[r * 6] = r;
		const batch = await pool.scoreBatch('echo', rows, { explain: true });
		expect(batch.rows).toBe(n);
		for (let r = 0; r < n; r += 997) expect(batch.margin[r]).toBe(r);
		expect(batch.margin[n - 1]).toBe(n - 1);
		expect(pool.stats().batchSizes.count).toBeGreaterThanOrEqual(3);
	});

	it('should decide with points, band and at most four reasons', async () => {
		const pool = await start({ bundles: [trees] });
		const s = await pool.scoreOne(
			'tiny',
			{ income: 150000, purpose: 'car', grade: 'C', age: 22 },
			{ decide: true }
		);
		expect(s.decision?.decision).toMatch(/approve|review|decline/);
		expect(s.decision?.reasons.length).toBeLessThanOrEqual(4);
		for (const r of s.decision?.reasons ?? []) expect(r.contribution).toBeGreaterThan(0);
		expect(s.decision?.reasons.find((r) => r.feature === 'grade')?.value).toBe('C');
		const batch = await pool.scoreBatch('tiny', [golden[0]?.raw ?? {}, golden[1]?.raw ?? {}], {
			decide: true
		});
		expect(batch.decisions).toHaveLength(2);
	});

	it('should serve several models and versions side by side', async () => {
		const pool = await start({ bundles: [trees, linear] });
		expect(pool.model('tiny').version).toBe('trees-1.0.0');
		const [a, b] = await Promise.all([
			pool.scoreOne('tiny@trees-1.0.0', golden[0]?.raw ?? {}),
			pool.scoreOne('tiny@linear-1.0.0', { income: 30000, purpose: 'car', grade: 'A', age: 25 })
		]);
		expect(a.version).toBe('trees-1.0.0');
		expect(b.version).toBe('linear-1.0.0');
	});

	it('should reject unknown models, bad rows and calls after close with named errors', async () => {
		const pool = await start({ bundles: [trees] });
		await expect(pool.scoreOne('nope', {})).rejects.toBeInstanceOf(ModelNotFound);
		await expect(pool.scoreOne('tiny', new Float32Array(5))).rejects.toBeInstanceOf(InvalidInput);
		await expect(
			pool.scoreOne('tiny', { income: 1, purpose: 'boat', grade: 'A', age: 30 })
		).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'purpose' });
		await pool.close();
		await expect(pool.scoreOne('tiny', echoRow(6, 1))).rejects.toBeInstanceOf(PoolClosed);
	});

	it('should answer an empty call at once', async () => {
		const pool = await start({ bundles: [trees] });
		expect(await pool.score('tiny', [])).toEqual([]);
		expect((await pool.scoreBatch('tiny', new Float32Array(0))).rows).toBe(0);
	});
});
