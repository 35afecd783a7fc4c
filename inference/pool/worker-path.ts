/**
 * Where the worker entry lives. The SvelteKit build does not emit worker files referenced through
 * `new URL('./worker.js', import.meta.url)` (STACK.md, trap 5), so `scripts/build-worker.js`
 * bundles `inference/pool/worker.ts` into `dist/inference-worker.mjs` and the pool points at it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkerNotFound } from './errors';

/** Environment variable naming the worker file, for deployments that move it. */
export const WORKER_PATH_ENV = 'CREDIBLE_INFERENCE_WORKER';

/**
 * Resolves the worker entry: the explicit option, else `$CREDIBLE_INFERENCE_WORKER`, else
 * `<cwd>/dist/inference-worker.mjs`.
 * @throws {WorkerNotFound} the file does not exist
 */
export function resolveWorkerPath(option?: string): string {
	const fromEnv = process.env[WORKER_PATH_ENV];
	const chosen =
		option ??
		(fromEnv !== undefined && fromEnv !== ''
			? fromEnv
			: path.join(process.cwd(), 'dist', 'inference-worker.mjs'));
	const abs = path.resolve(chosen);
	if (!existsSync(abs)) {
		throw new WorkerNotFound(
			`inference worker not found at ${abs}: run \`node scripts/build-worker.js\` or set ${WORKER_PATH_ENV}`
		);
	}
	return abs;
}
