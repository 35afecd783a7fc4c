// Bundles the entries that run outside the SvelteKit build into dist/:
// - the inference worker: the SvelteKit SSR build does not emit files referenced through
//   `new URL('./worker.js', import.meta.url)`, so the worker is built here and the pool resolves it
//   explicitly (see inference/pool/worker-path.ts);
// - the operator's CLI (`node dist/credible.mjs <command>`), for the container image, where the
//   development dependencies (tsx among them) are not installed; `npm run credible` runs the same
//   source under tsx.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entries = [
	['inference/pool/worker.ts', 'dist/inference-worker.mjs'],
	['src/cli/credible.ts', 'dist/credible.mjs']
];

for (const [entry, outfile] of entries) {
	if (!existsSync(path.join(root, entry))) {
		console.log(`build-worker: no ${entry} yet, skipping`);
		continue;
	}
	await build({
		entryPoints: [path.join(root, entry)],
		outfile: path.join(root, outfile),
		bundle: true,
		platform: 'node',
		format: 'esm',
		target: 'node20',
		packages: 'external',
		sourcemap: true,
		logLevel: 'warning'
	});
	console.log(`build-worker: ${outfile}`);
}
