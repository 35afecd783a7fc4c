/**
 * Hot reload under load: requests keep flowing while a new version is loaded into every worker;
 * none fails, each is answered by exactly one version, and the switch is one-way.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readGolden, type LoadedBundle } from '../bundle/load-bundle';
import type { RawApplicant } from '../manifest';
import { eventually, loadTinyTrees, renamed, WORKER_PATH } from '../test-fixtures/fixtures';
import { InferencePool } from './pool';

let v1: LoadedBundle;
let v2: LoadedBundle;
let raws: RawApplicant[];
const pools: InferencePool[] = [];
beforeAll(async () => {
	v1 = await loadTinyTrees();
	v2 = renamed(v1, 'tiny', 'trees-2.0.0');
	raws = (await readGolden(v1)).map((g) => g.raw);
});
afterEach(async () => {
	await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('hot reload', () => {
	it('should switch versions under load without failing a request', async () => {
		const pool = await InferencePool.start({ size: 2, workerPath: WORKER_PATH, bundles: [v1] });
		pools.push(pool);
		let running = true;
		const seen: string[][] = [];
		const failures: unknown[] = [];
		const client = async (k: number): Promise<void> => {
			const versions: string[] = [];
			seen.push(versions);
			for (let i = k; running; i++) {
				const s = await pool
					.scoreOne('tiny', raws[i % raws.length] ?? {}, { explain: true })
					.catch((e: unknown) => {
						failures.push(e);
						return null;
					});
				if (s) versions.push(s.version);
			}
		};
		const clients = Array.from({ length: 16 }, (_, k) => client(k));
		await eventually(() => seen.every((v) => v.length > 20), 'traffic on v1');
		const reloaded = await pool.reload(v2);
		expect(reloaded).toMatchObject({ key: 'tiny@trees-2.0.0', active: true, previous: 'tiny@trees-1.0.0' });
		await reloaded.drained;
		const counts = seen.map((v) => v.length);
		await eventually(() => seen.every((v, i) => v.length > (counts[i] ?? 0) + 20), 'traffic on v2');
		running = false;
		await Promise.all(clients);

		expect(failures).toEqual([]);
		for (const versions of seen) {
			// Each client saw v1, then v2, and never v1 again after its first v2.
			const firstV2 = versions.indexOf('trees-2.0.0');
			expect(firstV2).toBeGreaterThan(0);
			expect(versions.slice(firstV2).every((v) => v === 'trees-2.0.0')).toBe(true);
		}
		expect(pool.models().map((m) => m.key)).toEqual(['tiny@trees-2.0.0']);
		await expect(pool.scoreOne('tiny@trees-1.0.0', raws[0] ?? {})).rejects.toMatchObject({
			name: 'ModelNotFound'
		});
	});

	it('should answer rows admitted to the old version before unloading it', async () => {
		const pool = await InferencePool.start({
			size: 1,
			workerPath: WORKER_PATH,
			bundles: [v1],
			testModels: true
		});
		pools.push(pool);
		const slow = renamed(v1, 'slow', 'a');
		await pool.load(slow, { testModel: { behaviour: 'slow', delayMs: 100 } });
		const inFlight = Array.from({ length: 10 }, () => pool.scoreOne('slow', new Float32Array(6)));
		const reloaded = await pool.reload(renamed(v1, 'slow', 'b'), { testModel: { behaviour: 'echo' } });
		const answered = await Promise.all(inFlight);
		expect(answered.every((s) => s.version === 'a')).toBe(true);
		await reloaded.drained;
		expect(
			pool
				.models()
				.map((m) => m.key)
				.sort()
		).toEqual(['slow@b', 'tiny@trees-1.0.0']);
		expect((await pool.scoreOne('slow', new Float32Array(6))).version).toBe('b');
	});

	it('should load new versions into replacement workers', async () => {
		const pool = await InferencePool.start({
			size: 2,
			workerPath: WORKER_PATH,
			bundles: [v1],
			testModels: true
		});
		pools.push(pool);
		await pool.reload(v2);
		// Whichever worker answers, it must hold v2.
		const scores = await Promise.all(
			Array.from({ length: 50 }, (_, i) => pool.scoreOne('tiny', raws[i % raws.length] ?? {}))
		);
		expect(new Set(scores.map((s) => s.version))).toEqual(new Set(['trees-2.0.0']));
	});
});
