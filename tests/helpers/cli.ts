/** Runs `npm run credible -- …` the way an operator does (tsx, no build), on a given PGlite directory. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CliRun {
	code: number;
	stdout: string;
	stderr: string;
}

/** The CLI with `args`, on the embedded database in `pgliteDir` (DATABASE_URL is removed). */
export async function runCredible(pgliteDir: string, ...args: string[]): Promise<CliRun> {
	const { DATABASE_URL: _ignored, ...environment } = process.env;
	try {
		const { stdout, stderr } = await run(
			process.execPath,
			[path.resolve('node_modules/tsx/dist/cli.mjs'), 'src/cli/credible.ts', ...args],
			{ env: { ...environment, NODE_ENV: 'development', PGLITE_DIR: pgliteDir, LOG_LEVEL: 'silent' } }
		);
		return { code: 0, stdout, stderr };
	} catch (error) {
		const failed = error as { code: number; stdout: string; stderr: string };
		return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
	}
}
