import { execFileSync } from 'node:child_process';

/** Vitest global setup: the inference worker runs from its own bundled file, as in production. */
export default function setup(): void {
	execFileSync(process.execPath, ['scripts/build-worker.js'], { stdio: 'inherit' });
}
