/**
 * Helpers shared by the inference specs: where the fixture bundles and the built worker are, and
 * small variations of a bundle (another id or version) for pool tests.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleKey, loadBundle, type LoadedBundle } from '../bundle/load-bundle';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Repository root (two levels above this folder). */
export const REPO_ROOT = path.resolve(here, '..', '..');
export const FIXTURE_BUNDLES = path.join(here, 'bundles');
export const TINY_TREES_DIR = path.join(FIXTURE_BUNDLES, 'tiny', 'trees-1.0.0');
export const TINY_LINEAR_DIR = path.join(FIXTURE_BUNDLES, 'tiny', 'linear-1.0.0');
/** Built by Vitest's global setup (`scripts/build-worker.js`). */
export const WORKER_PATH = path.join(REPO_ROOT, 'dist', 'inference-worker.mjs');

export function loadTinyTrees(): Promise<LoadedBundle> {
	return loadBundle(TINY_TREES_DIR);
}

export function loadTinyLinear(): Promise<LoadedBundle> {
	return loadBundle(TINY_LINEAR_DIR);
}

/** The same bundle under another model id and/or version (e.g. "v2" for hot reload). */
export function renamed(
	bundle: LoadedBundle,
	id: string,
	version = bundle.manifest.model.version
): LoadedBundle {
	const manifest = structuredClone(bundle.manifest);
	manifest.model.id = id;
	manifest.model.version = version;
	return { ...bundle, manifest, key: bundleKey(id, version) };
}

/** A fault counter shared by every worker (see `TestModelSpec.faults`). */
export function faults(n: number): Int32Array {
	const counter = new Int32Array(new SharedArrayBuffer(4));
	counter[0] = n;
	return counter;
}

/** Encoded row whose echo-model margin is `sum` (all of it in the first column). */
export function echoRow(columns: number, sum: number): Float32Array {
	const row = new Float32Array(columns);
	row[0] = sum;
	return row;
}

/** Waits until `check` holds (polling), for state that settles asynchronously (e.g. a restart). */
export async function eventually(check: () => boolean, what: string, limitMs = 15_000): Promise<void> {
	const start = Date.now();
	while (!check()) {
		if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
}
