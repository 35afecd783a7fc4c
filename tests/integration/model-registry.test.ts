/**
 * The model registry in the database: seeded from the shipped bundles (idempotently), one champion
 * per model enforced by the database, promotion and rollback applied at once on the instance that
 * made them and via NOTIFY on another instance sharing the database, recorded decisions keeping
 * the version that made them, every change audited with who and why, and bad or concurrent
 * requests refused with a 4xx that leaves the registry as it was.
 */
import { isActionFailure, type ActionFailure, type RequestEvent } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '$lib/server/core';
import { parseEnv } from '$lib/server/env';
import { openDatabase } from '$lib/server/db';
import { isUniqueViolation } from '$lib/server/errors';
import { auditLog, models, modelVersions, predictions } from '$lib/server/db/schema';
import { readRegistry, seedRegistry } from '$lib/server/services/model-registry.service';
import { createCaller } from '$lib/server/trpc/root';
import { apiClient, serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import type { FormProblem } from '$lib/server/forms';
import * as modelPage from '../../src/routes/models/[model]/+page.server';

const applicant = goldenRows('lending-club/scorecard-1.0.0')[0]?.raw ?? {};

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
	try {
		await promise;
	} catch (error) {
		if (error instanceof TRPCError) return error;
		throw error;
	}
	throw new Error('expected the call to fail');
}

async function statesOf(t: TestCore, model: string): Promise<Record<string, string>> {
	const rows = await t.core.db
		.select({ version: modelVersions.version, state: modelVersions.state })
		.from(modelVersions)
		.where(eq(modelVersions.modelId, model));
	return Object.fromEntries(rows.map((r) => [r.version, r.state]));
}

describe.each(testDatabaseKinds())('model registry on %s', (kind) => {
	let t: TestCore;
	const admin = () => createCaller(t.context('admin', 'admin-ada'));

	beforeAll(async () => {
		t = await startTestCore(kind);
	});
	afterAll(async () => {
		await t.dispose();
	});
	afterEach(async () => {
		// Each test starts from the shipped champions.
		const info = await admin().models.list();
		const lc = info.find((m) => m.id === 'lending-club');
		if (lc && lc.champion !== 'xgb-1.0.0') {
			await t.core.db
				.update(modelVersions)
				.set({ state: 'challenger' })
				.where(and(eq(modelVersions.modelId, 'lending-club'), eq(modelVersions.state, 'champion')));
			await t.core.db
				.update(modelVersions)
				.set({ state: 'champion' })
				.where(and(eq(modelVersions.modelId, 'lending-club'), eq(modelVersions.version, 'xgb-1.0.0')));
		}
		await t.core.db
			.update(modelVersions)
			.set({ state: 'challenger' })
			.where(and(eq(modelVersions.modelId, 'lending-club'), eq(modelVersions.state, 'retired')));
		await t.core.db
			.update(models)
			.set({ generation: sql`${models.generation} + 1`, previousChampion: null })
			.where(eq(models.id, 'lending-club'));
		await t.core.lifecycle.refresh();
	});

	it('should seed the registry from the bundles and models/registry.json on first start', async () => {
		expect(await statesOf(t, 'lending-club')).toEqual({
			'xgb-1.0.0': 'champion',
			'scorecard-1.0.0': 'challenger'
		});
		expect(await statesOf(t, 'consumer-credit')).toEqual({ 'xgb-1.0.0': 'champion' });
		const registered = await t.core.db.select().from(auditLog).where(eq(auditLog.action, 'model.register'));
		expect(registered.map((e) => `${e.targetId}@${String(e.details.version)}`).sort()).toEqual([
			'consumer-credit@xgb-1.0.0',
			'lending-club@scorecard-1.0.0',
			'lending-club@xgb-1.0.0'
		]);
	});

	it('should seed idempotently: a second start adds nothing and changes no state', async () => {
		const before = await readRegistry(t.core.db);
		const bundles = t.core.models.all().map((v) => ({
			modelId: v.manifest.model.id,
			version: v.manifest.model.version,
			name: v.manifest.model.name,
			sha256: v.manifest.file.sha256,
			declared: v.status
		}));
		expect(await seedRegistry(t.core.db, bundles)).toEqual([]);
		expect(await readRegistry(t.core.db)).toEqual(before);
	});

	it('should register a new bundle on disk without making it champion', async () => {
		const added = await seedRegistry(t.core.db, [
			{
				modelId: 'lending-club',
				version: 'xgb-9.9.9',
				name: 'x',
				sha256: 'a'.repeat(64),
				declared: 'champion'
			}
		]);
		expect(added).toEqual(['lending-club@xgb-9.9.9']);
		expect((await statesOf(t, 'lending-club'))['xgb-9.9.9']).toBe('registered');
		// Tidy up: the version has no bundle here.
		await t.core.db
			.delete(modelVersions)
			.where(and(eq(modelVersions.modelId, 'lending-club'), eq(modelVersions.version, 'xgb-9.9.9')));
	});

	it('should make a version the champion of a model that has none', async () => {
		const added = await seedRegistry(t.core.db, [
			{
				modelId: 'mortgages',
				version: '1.0.0',
				name: 'Mortgages',
				sha256: 'b'.repeat(64),
				declared: 'registered'
			},
			{
				modelId: 'mortgages',
				version: '1.1.0',
				name: 'Mortgages',
				sha256: 'c'.repeat(64),
				declared: 'registered'
			}
		]);
		expect(added).toEqual(['mortgages@1.0.0', 'mortgages@1.1.0']);
		expect(await statesOf(t, 'mortgages')).toEqual({ '1.0.0': 'registered', '1.1.0': 'champion' });
	});

	it('should refuse a second champion of a model in the database itself', async () => {
		const error: unknown = await t.core.db
			.update(modelVersions)
			.set({ state: 'champion' })
			.where(and(eq(modelVersions.modelId, 'lending-club'), eq(modelVersions.version, 'scorecard-1.0.0')))
			.then(
				() => null,
				(e: unknown) => e
			);
		expect(isUniqueViolation(error)).toBe(true);
	});

	it('should serve and record the promoted version at once, and audit who and why', async () => {
		const { generation } = await admin().models.info({ model: 'lending-club' });
		const change = await admin().models.promote({
			model: 'lending-club',
			version: 'scorecard-1.0.0',
			reason: 'Better calibrated on the last quarter',
			expectedGeneration: generation
		});
		expect(change).toMatchObject({
			model: 'lending-club',
			champion: 'scorecard-1.0.0',
			previous: 'xgb-1.0.0',
			previousState: 'challenger',
			generation: generation + 1
		});
		// No wait: the receiving instance applied the change before answering.
		const scored = await createCaller(t.context('scorer')).scoring.score({
			model: 'lending-club',
			applicant
		});
		expect(scored.model).toEqual({ id: 'lending-club', version: 'scorecard-1.0.0' });
		const [stored] = await t.core.db
			.select()
			.from(predictions)
			.where(eq(predictions.id, scored.predictionId));
		expect(stored?.modelVersion).toBe('scorecard-1.0.0');
		const info = await admin().models.info({ model: 'lending-club' });
		expect(info).toMatchObject({
			version: 'scorecard-1.0.0',
			status: 'champion',
			generation: generation + 1
		});
		expect(await statesOf(t, 'lending-club')).toEqual({
			'xgb-1.0.0': 'challenger',
			'scorecard-1.0.0': 'champion'
		});
		const [entry] = await t.core.db
			.select()
			.from(auditLog)
			.where(eq(auditLog.action, 'model.promote'))
			.orderBy(sql`${auditLog.id} desc`)
			.limit(1);
		expect(entry).toMatchObject({
			actorKind: 'user',
			actorId: 'admin-ada',
			targetType: 'model',
			targetId: 'lending-club'
		});
		expect(entry?.details).toMatchObject({
			version: 'scorecard-1.0.0',
			from: 'xgb-1.0.0',
			reason: 'Better calibrated on the last quarter'
		});
	});

	it('should roll back to the previous champion, retire the rolled-back version and refuse to promote it', async () => {
		await admin().models.promote({ model: 'lending-club', version: 'scorecard-1.0.0', reason: 'Trial run' });
		const first = await createCaller(t.context('scorer')).scoring.score({ model: 'lending-club', applicant });
		const change = await admin().models.rollback({ model: 'lending-club', reason: 'Approval rate dropped' });
		expect(change).toMatchObject({
			champion: 'xgb-1.0.0',
			previous: 'scorecard-1.0.0',
			previousState: 'retired'
		});
		const scored = await createCaller(t.context('scorer')).scoring.score({
			model: 'lending-club',
			applicant
		});
		expect(scored.model.version).toBe('xgb-1.0.0');
		// The decision made before the rollback keeps the version that made it, and can still be explained.
		const [earlier] = await t.core.db
			.select()
			.from(predictions)
			.where(eq(predictions.id, first.predictionId));
		expect(earlier?.modelVersion).toBe('scorecard-1.0.0');
		const explained = await t.core.scoring.explainStored(
			{
				principal: { kind: 'user', id: 'admin-ada' },
				requestId: 'explain',
				channel: 'trpc',
				mayReadAll: true
			},
			first.predictionId
		);
		expect(explained.version.manifest.model.version).toBe('scorecard-1.0.0');
		expect(await statesOf(t, 'lending-club')).toEqual({
			'xgb-1.0.0': 'champion',
			'scorecard-1.0.0': 'retired'
		});
		const [entry] = await t.core.db
			.select()
			.from(auditLog)
			.where(eq(auditLog.action, 'model.rollback'))
			.orderBy(sql`${auditLog.id} desc`)
			.limit(1);
		expect(entry?.details).toMatchObject({
			version: 'xgb-1.0.0',
			from: 'scorecard-1.0.0',
			reason: 'Approval rate dropped'
		});
		const retired = await rejection(
			admin().models.promote({ model: 'lending-club', version: 'scorecard-1.0.0', reason: 'Again' })
		);
		expect(retired.code).toBe('CONFLICT');
		expect(retired.message).toMatch(/retired/);
		// Nothing left to roll back to.
		expect((await rejection(admin().models.rollback({ model: 'lending-club', reason: 'Again' }))).code).toBe(
			'CONFLICT'
		);
	});

	it('should let one of two concurrent promotions win and answer the other 409, leaving one champion', async () => {
		const { generation } = await admin().models.info({ model: 'lending-club' });
		const results = await Promise.allSettled([
			admin().models.promote({
				model: 'lending-club',
				version: 'scorecard-1.0.0',
				reason: 'Admin one',
				expectedGeneration: generation
			}),
			createCaller(t.context('admin', 'admin-bob')).models.promote({
				model: 'lending-club',
				version: 'scorecard-1.0.0',
				reason: 'Admin two',
				expectedGeneration: generation
			})
		]);
		expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
		const [failed] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
		expect((failed?.reason as TRPCError).code).toBe('CONFLICT');
		const states = Object.values(await statesOf(t, 'lending-club'));
		expect(states.filter((s) => s === 'champion')).toHaveLength(1);
		const { generation: after } = await admin().models.info({ model: 'lending-club' });
		expect(after).toBe(generation + 1);
	});

	it('should answer 4xx to bad input and non-admins, leaving the registry unchanged', async () => {
		const before = await readRegistry(t.core.db);
		const noReason = await rejection(
			admin().models.promote({ model: 'lending-club', version: 'scorecard-1.0.0', reason: ' ' })
		);
		expect(noReason.code).toBe('BAD_REQUEST');
		const unknownVersion = await rejection(
			admin().models.promote({ model: 'lending-club', version: 'xgb-0.0.1', reason: 'Typo' })
		);
		expect(unknownVersion.code).toBe('NOT_FOUND');
		const unknownModel = await rejection(admin().models.rollback({ model: 'mortgages-2', reason: 'Typo' }));
		expect(unknownModel.code).toBe('NOT_FOUND');
		const already = await rejection(
			admin().models.promote({ model: 'lending-club', version: 'xgb-1.0.0', reason: 'Noop' })
		);
		expect(already.code).toBe('CONFLICT');
		const stale = await rejection(
			admin().models.promote({
				model: 'lending-club',
				version: 'scorecard-1.0.0',
				reason: 'Stale page',
				expectedGeneration: 0
			})
		);
		expect(stale.code).toBe('CONFLICT');
		for (const role of ['risk_manager', 'scorer', 'viewer'] as const) {
			const denied = await rejection(
				createCaller(t.context(role)).models.promote({
					model: 'lending-club',
					version: 'scorecard-1.0.0',
					reason: 'Mine'
				})
			);
			expect(denied.code).toBe('FORBIDDEN');
		}
		expect(await readRegistry(t.core.db)).toEqual(before);
	});

	it('should give field errors and refuse service accounts over REST', async () => {
		const call = apiClient(t.core);
		const token = await serviceToken(t.core, `registry-${kind}`, 'risk_manager');
		const denied = await call({
			method: 'POST',
			path: '/models/lending-club/promote',
			token,
			body: { version: 'scorecard-1.0.0', reason: 'From a service' }
		});
		expect(denied.status).toBe(403);
		const anonymous = await call({
			method: 'POST',
			path: '/models/lending-club/rollback',
			body: { reason: 'x' }
		});
		expect(anonymous.status).toBe(401);
	});
});

type Action = (event: RequestEvent) => Promise<unknown>;
const pageActions = modelPage.actions as Record<'promote' | 'rollback', Action>;

describe.each(testDatabaseKinds())('champion controls of the model page on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});
	const event = (
		role: 'admin' | 'risk_manager',
		action: 'promote' | 'rollback' | null,
		form?: Record<string, string>
	) =>
		pageEvent({
			role,
			url: `/models/lending-club${action ? `?/${action}` : ''}`,
			params: { model: 'lending-club' },
			routeId: '/models/[model]',
			form
		});

	it('should show the controls to admins only, with the generation to send back', async () => {
		const load = modelPage.load as unknown as (e: RequestEvent) => Promise<Record<string, unknown>>;
		const asAdmin = await load(event('admin', null));
		expect(asAdmin).toMatchObject({
			canManage: true,
			registry: { champion: 'xgb-1.0.0', previousChampion: null, generation: 1 }
		});
		expect((await load(event('risk_manager', null))).canManage).toBe(false);
	});

	it('should promote and roll back from the page, with field errors and a 409 for a stale page', async () => {
		const promote = (form: Record<string, string>) => pageActions.promote(event('admin', 'promote', form));
		const missing = (await promote({
			version: '',
			reason: '',
			expectedGeneration: '1'
		})) as ActionFailure<FormProblem>;
		expect(isActionFailure(missing)).toBe(true);
		expect(missing.status).toBe(400);
		expect(Object.keys(missing.data.fieldErrors).sort()).toEqual(['reason', 'version']);
		const done = (await promote({
			version: 'scorecard-1.0.0',
			reason: 'Quarter review',
			expectedGeneration: '1'
		})) as {
			change: { champion: string };
		};
		expect(done.change.champion).toBe('scorecard-1.0.0');
		// A second admin whose page still shows generation 1.
		const stale = (await promote({
			version: 'xgb-1.0.0',
			reason: 'My page is old',
			expectedGeneration: '1'
		})) as ActionFailure<FormProblem>;
		expect(stale.status).toBe(409);
		expect(stale.data.message).toMatch(/changed since you looked/);
		const rolled = (await pageActions.rollback(
			event('admin', 'rollback', { reason: 'Back to xgb', expectedGeneration: '2' })
		)) as { change: { champion: string; previousState: string } };
		expect(rolled.change).toMatchObject({ champion: 'xgb-1.0.0', previousState: 'retired' });
		const denied = (await pageActions.rollback(
			event('risk_manager', 'rollback', { reason: 'Not mine to do' })
		)) as ActionFailure<FormProblem>;
		expect(denied.status).toBe(403);
	});
});

describe.each(testDatabaseKinds())('champion switch under load on %s', (kind) => {
	let t: TestCore;
	beforeAll(async () => {
		t = await startTestCore(kind);
	});
	afterAll(async () => {
		await t.dispose();
	});

	it('should fail no request while the champion flips, and record each decision with the version that answered', async () => {
		const scorer = createCaller(t.context('scorer'));
		const admin = createCaller(t.context('admin'));
		let running = true;
		const answered: { id: string; version: string }[] = [];
		const failures: unknown[] = [];
		const client = async () => {
			while (running) {
				try {
					const result = await scorer.scoring.score({ model: 'lending-club', applicant });
					answered.push({ id: result.predictionId, version: result.model.version });
				} catch (error) {
					failures.push(error);
				}
			}
		};
		const clients = Array.from({ length: 8 }, client);
		for (let i = 0; i < 5; i += 1) {
			await new Promise((resolve) => setTimeout(resolve, 30));
			await admin.models.promote({ model: 'lending-club', version: 'scorecard-1.0.0', reason: `Flip ${i}` });
			await new Promise((resolve) => setTimeout(resolve, 30));
			await admin.models.promote({ model: 'lending-club', version: 'xgb-1.0.0', reason: `Flop ${i}` });
		}
		running = false;
		await Promise.all(clients);
		expect(failures).toEqual([]);
		const versions = new Set(answered.map((a) => a.version));
		expect(versions).toEqual(new Set(['scorecard-1.0.0', 'xgb-1.0.0']));
		// Scoring answers only once its decision is written, so every answered row is stored now.
		const stored = new Map(
			(
				await t.core.db
					.select({ id: predictions.id, version: predictions.modelVersion })
					.from(predictions)
					.where(eq(predictions.modelId, 'lending-club'))
			).map((row) => [row.id, row.version])
		);
		for (const a of answered) expect(stored.get(a.id)).toBe(a.version);
	});
});

describe.runIf(process.env.TEST_DATABASE_URL)('model registry across instances on postgres', () => {
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
		// A long periodic check, so that only the notification can explain a quick switch.
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

	it('should catch up by its periodic check when no notification arrives', async () => {
		// A third instance that hears nothing: only the generation check can tell it.
		const deaf = await createCore(
			parseEnv({}),
			{ ...otherDb, listen: () => Promise.resolve(() => Promise.resolve()) },
			{ ownsDatabase: false, workers: 1, registryCheckIntervalMs: 200 }
		);
		try {
			expect(deaf.models.resolve('lending-club').manifest.model.version).toBe('xgb-1.0.0');
			await createCaller(t.context('admin')).models.promote({
				model: 'lending-club',
				version: 'scorecard-1.0.0',
				reason: 'Notification lost'
			});
			const started = Date.now();
			while (deaf.models.resolve('lending-club').manifest.model.version !== 'scorecard-1.0.0') {
				if (Date.now() - started > 5000) throw new Error('the periodic check did not switch within 5 s');
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
			await createCaller(t.context('admin')).models.promote({
				model: 'lending-club',
				version: 'xgb-1.0.0',
				reason: 'Back to the shipped champion'
			});
		} finally {
			await deaf.stop();
		}
	});

	it('should switch the other instance within 5 s of a promotion, through NOTIFY', async () => {
		expect(other.models.resolve('lending-club').manifest.model.version).toBe('xgb-1.0.0');
		await createCaller(t.context('admin')).models.promote({
			model: 'lending-club',
			version: 'scorecard-1.0.0',
			reason: 'Switch both instances'
		});
		const started = Date.now();
		while (other.models.resolve('lending-club').manifest.model.version !== 'scorecard-1.0.0') {
			if (Date.now() - started > 5000) throw new Error('the other instance did not switch within 5 s');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		const scored = await createCaller({ ...t.context('scorer'), core: other }).scoring.score({
			model: 'lending-club',
			applicant
		});
		expect(scored.model.version).toBe('scorecard-1.0.0');
		await createCaller(t.context('admin')).models.rollback({ model: 'lending-club', reason: 'Back again' });
		const back = Date.now();
		while (other.models.resolve('lending-club').manifest.model.version !== 'xgb-1.0.0') {
			if (Date.now() - back > 5000) throw new Error('the other instance did not roll back within 5 s');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	});
});
