import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEncoder } from '../bundle/encoder';
import { discoverBundles, readGolden } from '../bundle/load-bundle';
import { REPO_ROOT } from '../test-fixtures/fixtures';
import { OrtSession, type SessionOptions } from './ort-session';

const options: SessionOptions = {
	intraOpNumThreads: 1,
	interOpNumThreads: 1,
	executionMode: 'sequential',
	graphOptimizationLevel: 'all'
};

describe('OrtSession', async () => {
	const bundles = await discoverBundles(path.join(REPO_ROOT, 'models'));

	it('should run synchronously through the binding of the installed onnxruntime-node', async () => {
		const b = bundles[0]!;
		const { input, output } = b.manifest;
		const session = await OrtSession.create(b.modelBytes, input.name, [output.probability], options);
		expect(session.synchronous).toBe(true);
		const out = session.run(new Float32Array(input.columns.length), 1, input.columns.length);
		expect(out).not.toBeInstanceOf(Promise);
		await session.release();
	});

	it.each(bundles.map((b) => [b.key, b] as const))(
		'should give %s the same outputs through the binding as through the public API',
		async (_key, b) => {
			const { input, output } = b.manifest;
			const outputs = [output.probability, output.margin];
			const golden = await readGolden(b);
			const rows = createEncoder(b.manifest).encodeMany(golden.map((g) => g.raw));
			const nCols = input.columns.length;
			const sync = await OrtSession.create(b.modelBytes, input.name, outputs, options);
			const async = await OrtSession.create(b.modelBytes, input.name, outputs, options, false);
			expect(async.synchronous).toBe(false);
			const fast = sync.run(rows, golden.length, nCols);
			if (fast instanceof Promise) throw new Error('the binding answered asynchronously');
			const slow = await async.run(rows, golden.length, nCols);
			for (const name of outputs) {
				expect(slow[name]?.length).toBe(golden.length);
				expect(Array.from(fast[name] ?? [])).toEqual(Array.from(slow[name] ?? []));
			}
			await Promise.all([sync.release(), async.release()]);
		}
	);

	it('should refuse to run once released instead of reaching freed memory', async () => {
		const b = bundles[0]!;
		const { input, output } = b.manifest;
		const session = await OrtSession.create(b.modelBytes, input.name, [output.probability], options);
		await session.release();
		expect(() => session.run(new Float32Array(input.columns.length), 1, input.columns.length)).toThrow(
			/released/
		);
	});
});
