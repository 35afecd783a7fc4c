import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BundleInvalid, ChecksumMismatch } from '../errors';
import type { Manifest } from '../manifest';
import { TINY_TREES_DIR } from '../test-fixtures/fixtures';
import { discoverBundles, loadBundle, readGolden } from './load-bundle';

const temps: string[] = [];
afterEach(() => {
	for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

/** A copy of the tiny trees bundle at `<tmp>/<id>/<version>`, with an edited manifest. */
function copyBundle(
	edit: (m: Manifest & Record<string, unknown>) => void = () => undefined,
	id = 'tiny',
	version = 'trees-1.0.0'
): string {
	const root = mkdtempSync(path.join(tmpdir(), 'credible-bundle-'));
	temps.push(root);
	const dir = path.join(root, id, version);
	cpSync(TINY_TREES_DIR, dir, { recursive: true });
	const file = path.join(dir, 'manifest.json');
	const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest & Record<string, unknown>;
	edit(m);
	writeFileSync(file, JSON.stringify(m));
	return dir;
}

async function loadError(dir: string): Promise<Error & { bundle?: string; field?: string }> {
	return loadBundle(dir).then(
		() => {
			throw new Error('expected loadBundle to fail');
		},
		(e: unknown) => e as Error & { bundle?: string; field?: string }
	);
}

describe('loadBundle', () => {
	it('should load a valid bundle with its key and model bytes', async () => {
		const b = await loadBundle(TINY_TREES_DIR);
		expect(b.key).toBe('tiny@trees-1.0.0');
		expect(b.modelBytes.byteLength).toBeGreaterThan(0);
		expect(await readGolden(b)).toHaveLength(b.manifest.golden.rows);
	});

	it('should stop on a checksum mismatch, naming the bundle and the field', async () => {
		const dir = copyBundle((m) => (m.file.sha256 = '0'.repeat(64)));
		const e = await loadError(dir);
		expect(e).toBeInstanceOf(ChecksumMismatch);
		expect(e.message).toContain('tiny/trees-1.0.0');
		expect(e.field).toBe('file.sha256');
	});

	it('should stop on a manifest that fails the schema, naming the field', async () => {
		const dir = copyBundle((m) => ((m.policy.scaling as { pdo: number }).pdo = -20));
		const e = await loadError(dir);
		expect(e).toBeInstanceOf(BundleInvalid);
		expect(e.bundle).toBe('tiny/trees-1.0.0');
		expect(e.field).toBe('policy.scaling.pdo');
	});

	it('should reject a column written by two features', async () => {
		const dir = copyBundle((m) => {
			const age = m.features[3];
			if (age?.encoding.kind === 'passthrough') age.encoding.column = 0;
		});
		const e = await loadError(dir);
		expect(e.field).toBe('features[3] (age).encoding');
		expect(e.message).toMatch(/column 0 is also written by income/);
	});

	it('should reject a category without an encoding', async () => {
		const dir = copyBundle((m) => m.features[1]?.categories?.push('boat'));
		expect((await loadError(dir)).message).toMatch(/category "boat" has no encoding/);
	});

	it('should reject a linear model without column means', async () => {
		const dir = copyBundle((m) => {
			m.model.kind = 'linear';
			m.explanation.columnMeans = null;
		});
		expect((await loadError(dir)).field).toBe('explanation.columnMeans');
	});

	it('should report a missing manifest as an invalid bundle', async () => {
		const e = await loadError(path.join(tmpdir(), 'no-such-bundle-here'));
		expect(e).toBeInstanceOf(BundleInvalid);
		expect(e.field).toBe('manifest.json');
	});
});

describe('discoverBundles', () => {
	it('should find every <id>/<version> folder with a manifest and skip the others', async () => {
		const dir = copyBundle();
		const root = path.dirname(path.dirname(dir));
		cpSync(path.join(TINY_TREES_DIR, 'MODEL_CARD.md'), path.join(root, 'train', 'README.md'), {
			recursive: true
		});
		const found = await discoverBundles(root);
		expect(found.map((b) => b.key)).toEqual(['tiny@trees-1.0.0']);
	});

	it('should refuse a manifest whose version disagrees with its folder', async () => {
		const dir = copyBundle(undefined, 'tiny', 'trees-9.9.9');
		await expect(discoverBundles(path.dirname(path.dirname(dir)))).rejects.toMatchObject({
			field: 'model.version'
		});
	});
});

describe('readGolden', () => {
	it('should refuse a golden file whose row count differs from the manifest', async () => {
		const dir = copyBundle((m) => (m.golden.rows = 99));
		const b = await loadBundle(dir);
		await expect(readGolden(b)).rejects.toMatchObject({ name: 'BundleInvalid', field: 'golden.rows' });
	});
});
