import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WORKER_PATH } from '../test-fixtures/fixtures';
import { deserializeError, ModelError, WorkerNotFound } from './errors';
import { MissingCover } from '../errors';
import { resolveWorkerPath, WORKER_PATH_ENV } from './worker-path';

const saved = process.env[WORKER_PATH_ENV];
afterEach(() => {
	if (saved === undefined) delete process.env[WORKER_PATH_ENV];
	else process.env[WORKER_PATH_ENV] = saved;
});

describe('resolveWorkerPath', () => {
	it('should prefer the option, then the environment, then dist/ under the working directory', () => {
		process.env[WORKER_PATH_ENV] = '/nonexistent/from-env.mjs';
		expect(resolveWorkerPath(WORKER_PATH)).toBe(WORKER_PATH);
		expect(() => resolveWorkerPath()).toThrow(/from-env\.mjs/);
		delete process.env[WORKER_PATH_ENV];
		expect(resolveWorkerPath()).toBe(path.join(process.cwd(), 'dist', 'inference-worker.mjs'));
	});

	it('should say how to build the worker when it is missing', () => {
		expect(() => resolveWorkerPath('/nonexistent/worker.mjs')).toThrow(WorkerNotFound);
		expect(() => resolveWorkerPath('/nonexistent/worker.mjs')).toThrow(/scripts\/build-worker\.js/);
	});
});

describe('deserializeError', () => {
	it('should rebuild library errors as their own class and others as ModelError', () => {
		expect(deserializeError({ name: 'MissingCover', message: 'm', code: 'MISSING_COVER' })).toBeInstanceOf(
			MissingCover
		);
		const other = deserializeError({ name: 'TypeError', message: 'x is not a function' });
		expect(other).toBeInstanceOf(ModelError);
		expect(other).toMatchObject({ remoteName: 'TypeError', message: 'TypeError: x is not a function' });
	});
});
