/**
 * Uploading a bundle archive: registered only when the manifest validates, the SHA-256 matches and
 * the golden rows reproduce in the inference workers; refused otherwise with the failing checks or
 * rows and nothing written; stored in the database so that another instance sharing it loads the
 * version too. Archives are made with the system's `tar`, as an operator would.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ActionFailure, RequestEvent } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { toFieldErrors } from '$lib/validation/field-errors';
import { createCore } from '$lib/server/core';
import { openDatabase } from '$lib/server/db';
import { auditLog, modelBundles } from '$lib/server/db/schema';
import { parseEnv } from '$lib/server/env';
import { type ValidationFailed } from '$lib/server/errors';
import { createCaller } from '$lib/server/trpc/root';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import type { FormProblem } from '$lib/server/forms';
import * as modelsPage from '../../src/routes/models/+page.server';

const work = mkdtempSync(path.join(tmpdir(), 'credible-upload-'));
const applicant = goldenRows('lending-club/scorecard-1.0.0')[0]?.raw ?? {};

/** The shipped scorecard as a new version, changed by `edit`, packed with `tar` (gzip unless told). */
function archive(version: string, edit: (dir: string) => void = () => undefined, gzip = true): string {
	const dir = mkdtempSync(path.join(work, 'bundle-'));
	cpSync('models/lending-club/scorecard-1.0.0', dir, { recursive: true });
	const manifestPath = path.join(dir, 'manifest.json');
	const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { model: { version: string } };
	manifest.model.version = version;
	writeFileSync(manifestPath, JSON.stringify(manifest));
	edit(dir);
	const file = path.join(work, `${path.basename(dir)}.tar${gzip ? '.gz' : ''}`);
	execFileSync('tar', [gzip ? '-czf' : '-cf', file, '-C', dir, '.']);
	return readFileSync(file).toString('base64');
}

async function refusal(promise: Promise<unknown>): Promise<TRPCError> {
	try {
		await promise;
	} catch (error) {
		if (error instanceof TRPCError) return error;
		throw error;
	}
	throw new Error('expected the call to fail');
}

afterAll(() => {
	rmSync(work, { recursive: true, force: true });
});

const fieldErrorsOf = (error: TRPCError) =>
	error.cause instanceof ZodError
		? toFieldErrors(error.cause.issues)
		: (error.cause as ValidationFailed).fieldErrors;

describe.each(testDatabaseKinds())('bundle upload on %s', (kind) => {
	let t: TestCore;
	const admin = () => createCaller(t.context('admin', 'admin-ada'));
	beforeAll(async () => {
		t = await startTestCore(kind);
	});
	afterAll(async () => {
		await t.dispose();
	});

	it('should register a bundle whose golden rows reproduce, serve it by version and store it', async () => {
		const result = await admin().models.upload({
			archive: archive('scorecard-1.1.0'),
			reason: 'Refit on Q2'
		});
		expect(result).toMatchObject({ model: 'lending-club', version: 'scorecard-1.1.0', state: 'registered' });
		expect(result.goldenRows).toBeGreaterThan(0);
		expect(result.maxProbabilityError).toBeLessThanOrEqual(1e-6);
		const listed = (await admin().models.list()).find((m) => m.id === 'lending-club');
		expect(listed?.champion).toBe('xgb-1.0.0');
		expect(listed?.versions.find((v) => v.version === 'scorecard-1.1.0')?.status).toBe('registered');
		const scored = await createCaller(t.context('scorer')).scoring.score({
			model: 'lending-club',
			version: 'scorecard-1.1.0',
			applicant
		});
		expect(scored.model.version).toBe('scorecard-1.1.0');
		const stored = await t.core.db
			.select()
			.from(modelBundles)
			.where(eq(modelBundles.version, 'scorecard-1.1.0'));
		expect(stored).toHaveLength(1);
		const [entry] = await t.core.db.select().from(auditLog).where(eq(auditLog.action, 'model.upload'));
		expect(entry).toMatchObject({ actorId: 'admin-ada', targetId: 'lending-club' });
		expect(entry?.details).toMatchObject({ version: 'scorecard-1.1.0', reason: 'Refit on Q2' });
		// It can be promoted like any version.
		const change = await admin().models.promote({
			model: 'lending-club',
			version: 'scorecard-1.1.0',
			reason: 'Uploaded and checked'
		});
		expect(change.champion).toBe('scorecard-1.1.0');
	});

	it('should refuse golden rows that do not reproduce, listing the rows, and register nothing', async () => {
		const bad = archive('scorecard-1.2.0', (dir) => {
			const file = path.join(dir, 'golden.jsonl');
			const lines = readFileSync(file, 'utf8').trim().split('\n');
			const first = JSON.parse(lines[0] ?? '{}') as { probability: number };
			first.probability += 0.01;
			lines[0] = JSON.stringify(first);
			writeFileSync(file, `${lines.join('\n')}\n`);
		});
		const error = await refusal(admin().models.upload({ archive: bad, reason: 'Should fail' }));
		expect(error.code).toBe('BAD_REQUEST');
		expect(fieldErrorsOf(error).golden?.[0]).toMatch(/^row 1: probability/);
		expect(t.core.models.has('lending-club', 'scorecard-1.2.0')).toBe(false);
		expect(
			t.core.pool.models().some((m) => m.key === 'lending-club@scorecard-1.2.0' && m.state === 'ready')
		).toBe(false);
		const stored = await t.core.db
			.select()
			.from(modelBundles)
			.where(eq(modelBundles.version, 'scorecard-1.2.0'));
		expect(stored).toEqual([]);
	});

	it('should refuse a checksum mismatch, a broken manifest, a missing file and a corrupt archive', async () => {
		const checksum = archive('scorecard-1.3.0', (dir) => {
			const file = path.join(dir, 'manifest.json');
			const manifest = JSON.parse(readFileSync(file, 'utf8')) as { file: { sha256: string } };
			manifest.file.sha256 = '0'.repeat(64);
			writeFileSync(file, JSON.stringify(manifest));
		});
		const mismatch = await refusal(admin().models.upload({ archive: checksum, reason: 'Should fail' }));
		expect(fieldErrorsOf(mismatch).archive?.[0]).toMatch(/sha-?256|checksum/i);

		const manifest = archive('scorecard-1.4.0', (dir) =>
			writeFileSync(path.join(dir, 'manifest.json'), '{"schemaVersion": 1}')
		);
		const invalid = await refusal(admin().models.upload({ archive: manifest, reason: 'Should fail' }));
		expect(fieldErrorsOf(invalid).archive?.[0]).toMatch(/manifest|model/);

		const noCard = archive('scorecard-1.5.0', (dir) => unlinkSync(path.join(dir, 'MODEL_CARD.md')), false);
		const missing = await refusal(admin().models.upload({ archive: noCard, reason: 'Should fail' }));
		expect(fieldErrorsOf(missing).archive).toEqual(['missing MODEL_CARD.md']);

		const corrupt = Buffer.from('this is not a tar archive at all, just text '.repeat(20)).toString('base64');
		const broken = await refusal(admin().models.upload({ archive: corrupt, reason: 'Should fail' }));
		expect(fieldErrorsOf(broken).archive?.[0]).toMatch(/not a tar archive/);

		const noReason = await refusal(admin().models.upload({ archive: corrupt, reason: '' }));
		expect(Object.keys(fieldErrorsOf(noReason))).toEqual(['reason']);
	});

	it('should refuse a version that exists with 409, and non-admins with 403', async () => {
		const again = await refusal(
			admin().models.upload({ archive: archive('scorecard-1.0.0'), reason: 'Twice' })
		);
		expect(again.code).toBe('CONFLICT');
		const denied = await refusal(
			createCaller(t.context('risk_manager')).models.upload({
				archive: archive('scorecard-1.6.0'),
				reason: 'Mine'
			})
		);
		expect(denied.code).toBe('FORBIDDEN');
	});
});

describe('bundle upload from the models page', () => {
	let t: TestCore;
	let restore: () => void;
	beforeAll(async () => {
		t = await startTestCore('pglite');
		restore = useAsProcessCore(t.core);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});
	const upload = modelsPage.actions.upload as (event: RequestEvent) => Promise<unknown>;
	const post = (role: 'admin' | 'viewer', fields: { archive?: string; reason: string }) => {
		const body = new FormData();
		if (fields.archive)
			body.set('archive', new File([Buffer.from(fields.archive, 'base64')], 'bundle.tar.gz'));
		body.set('reason', fields.reason);
		const base = pageEvent({ role, url: '/models?/upload', routeId: '/models', form: {} });
		return upload({
			...base,
			request: new Request('http://localhost/models?/upload', { method: 'POST', body })
		});
	};

	it('should register an archive from the form and show each problem next to its field', async () => {
		const none = (await post('admin', { reason: '' })) as ActionFailure<FormProblem>;
		expect(none.status).toBe(400);
		expect(Object.keys(none.data.fieldErrors)).toEqual(['archive']);
		const noReason = (await post('admin', {
			archive: archive('scorecard-3.0.0'),
			reason: ''
		})) as ActionFailure<FormProblem>;
		expect(Object.keys(noReason.data.fieldErrors)).toEqual(['reason']);
		const done = (await post('admin', {
			archive: archive('scorecard-3.0.0'),
			reason: 'From the portal'
		})) as {
			uploaded: { version: string; state: string };
		};
		expect(done.uploaded).toMatchObject({ version: 'scorecard-3.0.0', state: 'registered' });
		const denied = (await post('viewer', {
			archive: archive('scorecard-3.1.0'),
			reason: 'Not allowed'
		})) as ActionFailure<FormProblem>;
		expect(denied.status).toBe(403);
	});
});

describe.runIf(process.env.TEST_DATABASE_URL)('bundle upload across instances on postgres', () => {
	let t: TestCore;
	let other: Awaited<ReturnType<typeof createCore>>;
	let otherDb: Awaited<ReturnType<typeof openDatabase>>;
	beforeAll(async () => {
		t = await startTestCore('postgres');
		otherDb = await openDatabase({
			url: t.database.url,
			migrationsDir: 'drizzle',
			migrate: false,
			poolSize: 2
		});
		other = await createCore(parseEnv({}), otherDb, {
			ownsDatabase: false,
			workers: 1,
			registryCheckIntervalMs: 60_000
		});
	});
	afterAll(async () => {
		await other.stop();
		await otherDb.close();
		await t.dispose();
	});

	it('should load a bundle uploaded on one instance into the other, from the database', async () => {
		await createCaller(t.context('admin')).models.upload({
			archive: archive('scorecard-2.0.0'),
			reason: 'Shared'
		});
		const started = Date.now();
		while (!other.models.has('lending-club', 'scorecard-2.0.0')) {
			if (Date.now() - started > 5000)
				throw new Error('the other instance did not load the bundle within 5 s');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		const scored = await createCaller({ ...t.context('scorer'), core: other }).scoring.score({
			model: 'lending-club',
			version: 'scorecard-2.0.0',
			applicant
		});
		expect(scored.model.version).toBe('scorecard-2.0.0');
	});
});
