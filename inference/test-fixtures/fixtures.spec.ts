import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_BUNDLES } from './fixtures';
import { buildTinyBundles } from './tiny-bundles';

describe('test fixtures', () => {
	it.each(buildTinyBundles().map((b) => [b.path, b] as const))(
		'should match what the generator writes (%s)',
		(_, b) => {
			const dir = path.join(FIXTURE_BUNDLES, b.path);
			expect(Buffer.compare(readFileSync(path.join(dir, 'model.onnx')), Buffer.from(b.modelBytes))).toBe(0);
			expect(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'))).toEqual(b.manifest);
			const golden = readFileSync(path.join(dir, 'golden.jsonl'), 'utf8').trim().split('\n');
			expect(golden.map((l) => JSON.parse(l) as unknown)).toEqual(b.golden);
		}
	);
});
