import type { Core } from '../core-types';

export interface CheckOutcome {
	name: string;
	ok: boolean;
	error?: string;
	ms: number;
}

export interface HealthReport {
	status: 'ready' | 'not_ready';
	uptimeSeconds: number;
	checks: CheckOutcome[];
}

const CHECK_TIMEOUT_MS = 2_000;

/** Runs every readiness check of the core in parallel, each bounded by a timeout. */
export async function checkReadiness(core: Core): Promise<HealthReport> {
	const checks = await Promise.all(
		core.readiness.map(async ({ name, check }): Promise<CheckOutcome> => {
			const started = performance.now();
			try {
				await withTimeout(check(), CHECK_TIMEOUT_MS);
				return { name, ok: true, ms: elapsed(started) };
			} catch (error) {
				return {
					name,
					ok: false,
					error: error instanceof Error ? error.message : String(error),
					ms: elapsed(started)
				};
			}
		})
	);
	return {
		status: checks.every((check) => check.ok) ? 'ready' : 'not_ready',
		uptimeSeconds: Math.round((Date.now() - core.startedAt.getTime()) / 1000),
		checks
	};
}

function elapsed(started: number): number {
	return Math.round((performance.now() - started) * 100) / 100;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
	});
	try {
		return await Promise.race([promise, timeout]);
	} finally {
		clearTimeout(timer);
	}
}
