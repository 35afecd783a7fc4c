import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../../../inference/bundle/load-bundle';
import { SCORE_FEATURE } from '../db/schema';
import { tally } from '../monitoring/drift/bins';
import { binsByVersion } from './drift-counting';
import { ModelRegistry } from './models.service';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('binsByVersion', () => {
	it('counts a version added after the writer started, as an upload or another instance adds it', async () => {
		// A models directory with Lending Club only: consumer-credit arrives later, as an upload would.
		const dir = await mkdtemp(path.join(os.tmpdir(), 'credible-bins-'));
		dirs.push(dir);
		await cp('models/lending-club/xgb-1.0.0', path.join(dir, 'lending-club', 'xgb-1.0.0'), {
			recursive: true
		});
		const models = await ModelRegistry.load(dir);
		const binsOf = binsByVersion(models);
		expect(binsOf('lending-club', 'xgb-1.0.0')).toBeDefined();
		expect(binsOf('consumer-credit', 'xgb-1.0.0')).toBeUndefined();

		models.add(await loadBundle('models/consumer-credit/xgb-1.0.0'));
		const bins = binsOf('consumer-credit', 'xgb-1.0.0');
		expect(bins?.map((b) => b.feature)).toContain(SCORE_FEATURE);

		const counted = tally(
			[
				{
					modelId: 'consumer-credit',
					modelVersion: 'xgb-1.0.0',
					createdAt: new Date('2026-03-02T10:15:00Z'),
					input: {},
					probability: 0.2
				}
			],
			binsOf,
			new Date()
		);
		const score = counted.find((c) => c.feature === SCORE_FEATURE);
		expect(score?.counts.reduce((a, b) => a + b, 0)).toBe(1);
	});
});
