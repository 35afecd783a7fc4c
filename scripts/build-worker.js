// Bundles the inference worker entry into its own file. The SvelteKit SSR build does not emit
// files referenced through `new URL('./worker.js', import.meta.url)`, so the worker is built here
// and the pool resolves it explicitly (see inference/pool/worker-path.ts).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'inference/pool/worker.ts');

if (!existsSync(entry)) {
	console.log('build-worker: no inference/pool/worker.ts yet, skipping');
} else {
	await build({
		entryPoints: [entry],
		outfile: path.join(root, 'dist/inference-worker.mjs'),
		bundle: true,
		platform: 'node',
		format: 'esm',
		target: 'node20',
		packages: 'external',
		sourcemap: true,
		logLevel: 'warning'
	});
	console.log('build-worker: dist/inference-worker.mjs');
}
