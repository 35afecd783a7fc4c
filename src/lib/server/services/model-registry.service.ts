/**
 * The model registry as the database holds it: model families, their versions and the state of
 * each (registered → shadow → challenger → champion → retired). The database is the truth that
 * every instance sharing it follows; `model-lifecycle.service.ts` applies it to the running models.
 *
 * Every change runs in one transaction that locks the family's row, writes the new states, bumps
 * the family's `generation`, records an audit entry with the actor and the reason, and sends a
 * notification on {@link REGISTRY_CHANNEL} (PostgreSQL delivers it at commit, and only then).
 *
 * Reached by the CLI under tsx: relative imports only.
 */
import { and, eq, gte, isNotNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { rowsOf, type Database } from '../db/index';
import { models, modelVersions, type ModelState } from '../db/schema';
import { Conflict, isUniqueViolation, NotFound, ValidationFailed } from '../errors';
import { toFieldErrors } from '../../validation/field-errors';
import { recordAudit, type AuditActor } from './audit.service';

/** The PostgreSQL notification channel of registry changes; the payload is the model id. */
export const REGISTRY_CHANNEL = 'credible_model_registry';

/** Serialises seeding between instances starting together. */
const SEED_LOCK_ID = 7_245_302;

/** A bundle found on disk, with the state `models/registry.json` declares for it. */
export interface SeedBundle {
	modelId: string;
	version: string;
	name: string;
	sha256: string;
	declared: ModelState;
}

/** One family as the database holds it. */
export interface RegistryFamily {
	generation: number;
	previousChampion: string | null;
	states: Map<string, ModelState>;
}

export type RegistrySnapshot = Map<string, RegistryFamily>;

/** Where a change was asked from, for the audit entry. */
export interface ChangeContext {
	ip?: string | null;
	requestId?: string | null;
}

const id = z.string({ error: 'Name the model.' }).min(1, 'Name the model.').max(64, 'At most 64 characters.');
const reason = z
	.string({ error: 'Give the reason for this change.' })
	.trim()
	.min(3, 'Give the reason for this change (at least 3 characters).')
	.max(2000, 'At most 2,000 characters.');
const expectedGeneration = z
	.number({ error: 'A whole number.' })
	.int('A whole number.')
	.min(0, 'A whole number.')
	.optional()
	.describe('The generation you last saw; the change is refused with 409 if the registry moved on.');

export const promoteInputSchema = z.strictObject({
	model: id,
	version: z
		.string({ error: 'Name the version.' })
		.min(1, 'Name the version.')
		.max(64, 'At most 64 characters.'),
	reason,
	expectedGeneration
});
export type PromoteInput = z.input<typeof promoteInputSchema>;

export const rollbackInputSchema = z.strictObject({ model: id, reason, expectedGeneration });
export type RollbackInput = z.input<typeof rollbackInputSchema>;

export const shadowInputSchema = promoteInputSchema;
export type ShadowInput = z.input<typeof shadowInputSchema>;
export const unshadowInputSchema = rollbackInputSchema;
export type UnshadowInput = z.input<typeof unshadowInputSchema>;

/** What putting a version into shadow, or taking it out, left behind. */
export interface ShadowChange {
	model: string;
	version: string;
	/** The version's state before this change. */
	from: ModelState;
	/** Its state now. */
	state: ModelState;
	generation: number;
}

/** The states a version may enter shadow from. */
const SHADOW_FROM: readonly ModelState[] = ['registered', 'challenger'];

/** What a promotion or rollback left behind. */
export interface RegistryChange {
	model: string;
	champion: string;
	/** The champion before this change. */
	previous: string;
	/** The state the previous champion moved to. */
	previousState: ModelState;
	generation: number;
}

/**
 * Registers the bundles found on disk. On a model's first start its versions take the states
 * `models/registry.json` declares; later, a new bundle is `registered` — or `champion` when its
 * model has none. Idempotent: versions already known keep their state. Returns the keys it added.
 */
export async function seedRegistry(db: Database, bundles: readonly SeedBundle[]): Promise<string[]> {
	return db.transaction(async (tx) => {
		await tx.execute(sql`select pg_advisory_xact_lock(${SEED_LOCK_ID})`);
		const added: string[] = [];
		const byModel = new Map<string, SeedBundle[]>();
		for (const b of bundles) byModel.set(b.modelId, [...(byModel.get(b.modelId) ?? []), b]);
		for (const [modelId, found] of byModel) {
			const created = await tx
				.insert(models)
				.values({ id: modelId, name: found[0]?.name ?? modelId })
				.onConflictDoNothing()
				.returning({ id: models.id });
			const known = new Map(
				(
					await tx
						.select({ version: modelVersions.version, state: modelVersions.state })
						.from(modelVersions)
						.where(eq(modelVersions.modelId, modelId))
				).map((row) => [row.version, row.state])
			);
			let hasChampion = [...known.values()].includes('champion');
			const fresh = found
				.filter((b) => !known.has(b.version))
				.sort((a, b) => a.version.localeCompare(b.version));
			if (fresh.length === 0) continue;
			for (const bundle of fresh) {
				let state: ModelState = created.length > 0 ? bundle.declared : 'registered';
				if (state === 'champion' && hasChampion) state = 'registered';
				hasChampion ||= state === 'champion';
				await tx
					.insert(modelVersions)
					.values({ modelId, version: bundle.version, state, sha256: bundle.sha256 });
				await recordAudit(tx, {
					actor: { kind: 'system', id: 'registry-seed', name: 'registry seeding at start-up' },
					action: 'model.register',
					target: { type: 'model', id: modelId },
					details: {
						version: bundle.version,
						state,
						sha256: bundle.sha256,
						reason: 'bundle found in MODELS_DIR'
					}
				});
				added.push(`${modelId}@${bundle.version}`);
			}
			if (!hasChampion) {
				// A model that had no champion gets its highest new version, so it can be served.
				const pick = fresh.at(-1);
				if (pick) await setState(tx, modelId, pick.version, 'champion');
			}
			await bump(tx, modelId);
			await notify(tx, modelId);
		}
		return added;
	});
}

/** Every family with its versions' states. */
export async function readRegistry(db: Pick<Database, 'select'>): Promise<RegistrySnapshot> {
	const families = await db.select().from(models);
	const versions = await db.select().from(modelVersions);
	const snapshot: RegistrySnapshot = new Map();
	for (const f of families) {
		snapshot.set(f.id, { generation: f.generation, previousChampion: f.previousChampion, states: new Map() });
	}
	for (const v of versions) snapshot.get(v.modelId)?.states.set(v.version, v.state);
	return snapshot;
}

/** Each family's generation: the cheap periodic check for a change an instance did not hear of. */
export async function readGenerations(db: Pick<Database, 'select'>): Promise<Map<string, number>> {
	const rows = await db.select({ id: models.id, generation: models.generation }).from(models);
	return new Map(rows.map((r) => [r.id, r.generation]));
}

/** A champion that a promotion made and no rollback has undone yet. */
export interface PromotedChampion {
	model: string;
	/** The champion the promotion made, and the one it replaced (what a rollback restores). */
	champion: string;
	previous: string;
	generation: number;
	/** When the champion became champion (the database's clock). */
	promotedAt: Date;
}

/**
 * The families whose champion was made by a promotion at or after `since` and not yet rolled back:
 * what the promotion guard watches.
 */
export async function readPromotions(db: Pick<Database, 'select'>, since: Date): Promise<PromotedChampion[]> {
	const rows = await db
		.select({
			model: models.id,
			previous: models.previousChampion,
			generation: models.generation,
			champion: modelVersions.version,
			promotedAt: modelVersions.stateChangedAt
		})
		.from(models)
		.innerJoin(modelVersions, and(eq(modelVersions.modelId, models.id), eq(modelVersions.state, 'champion')))
		.where(and(isNotNull(models.previousChampion), gte(modelVersions.stateChangedAt, since)));
	return rows.flatMap((row) =>
		row.previous === null || row.previous === row.champion
			? []
			: [{ ...row, previous: row.previous, promotedAt: new Date(row.promotedAt) }]
	);
}

/**
 * Makes `version` the champion of `model`; the champion it replaces becomes a challenger (and the
 * version a rollback restores). Throws `ValidationFailed` (400), `NotFound` (404), or `Conflict`
 * (409: already champion, retired, registry changed since `expectedGeneration`, or another change
 * to this model in progress).
 */
export async function promoteVersion(
	db: Database,
	actor: AuditActor,
	input: unknown,
	context: ChangeContext = {}
): Promise<RegistryChange> {
	const parsed = promoteInputSchema.safeParse(input);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const { model, version, reason } = parsed.data;
	return change(db, async (tx) => {
		const family = await lockFamily(tx, model, parsed.data.expectedGeneration);
		const target = family.states.get(version);
		if (target === undefined) {
			throw new NotFound(
				`Model "${model}" has no version "${version}". Versions: ${[...family.states.keys()].join(', ')}.`
			);
		}
		if (target === 'champion') throw new Conflict(`${model}@${version} is already the champion.`);
		if (target === 'retired') throw new Conflict(`${model}@${version} is retired and cannot be promoted.`);
		const previous = championOf(model, family);
		await setState(tx, model, previous, 'challenger');
		await setState(tx, model, version, 'champion');
		const generation = await bump(tx, model, previous);
		await recordAudit(tx, {
			actor,
			action: 'model.promote',
			target: { type: 'model', id: model },
			ip: context.ip ?? null,
			requestId: context.requestId ?? null,
			details: { version, from: previous, fromState: target, reason, generation }
		});
		await notify(tx, model);
		return { model, champion: version, previous, previousState: 'challenger', generation };
	});
}

/**
 * Restores the champion the last promotion replaced; the version rolled back is retired. Throws
 * `ValidationFailed` (400), `NotFound` (404) or `Conflict` (409: nothing to roll back to, the
 * registry changed since `expectedGeneration`, or another change to this model in progress).
 */
export async function rollbackModel(
	db: Database,
	actor: AuditActor,
	input: unknown,
	context: ChangeContext = {}
): Promise<RegistryChange> {
	const parsed = rollbackInputSchema.safeParse(input);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const { model, reason } = parsed.data;
	return change(db, async (tx) => {
		const family = await lockFamily(tx, model, parsed.data.expectedGeneration);
		const restore = family.previousChampion;
		const restoreState = restore === null ? undefined : family.states.get(restore);
		if (restore === null || restoreState === undefined || restoreState === 'retired') {
			throw new Conflict(`Model "${model}" has no earlier champion to roll back to.`);
		}
		const current = championOf(model, family);
		await setState(tx, model, current, 'retired');
		await setState(tx, model, restore, 'champion');
		const generation = await bump(tx, model, null);
		await recordAudit(tx, {
			actor,
			action: 'model.rollback',
			target: { type: 'model', id: model },
			ip: context.ip ?? null,
			requestId: context.requestId ?? null,
			details: { version: restore, from: current, reason, generation }
		});
		await notify(tx, model);
		return { model, champion: restore, previous: current, previousState: 'retired', generation };
	});
}

/**
 * Puts a registered version or a challenger into shadow: every champion decision of its model is
 * then also scored by it in the background (`shadow-scoring.ts`). At most one version per model is
 * in shadow. Throws `ValidationFailed` (400), `NotFound` (404) or `Conflict` (409: the version is
 * the champion, retired or already in shadow, another version is in shadow, the registry changed
 * since `expectedGeneration`, or another change to this model is in progress).
 */
export async function shadowVersion(
	db: Database,
	actor: AuditActor,
	input: unknown,
	context: ChangeContext = {}
): Promise<ShadowChange> {
	const parsed = shadowInputSchema.safeParse(input);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const { model, version, reason } = parsed.data;
	return change(db, async (tx) => {
		const family = await lockFamily(tx, model, parsed.data.expectedGeneration);
		const target = family.states.get(version);
		if (target === undefined) {
			throw new NotFound(
				`Model "${model}" has no version "${version}". Versions: ${[...family.states.keys()].join(', ')}.`
			);
		}
		if (target === 'shadow') throw new Conflict(`${model}@${version} is already in shadow.`);
		if (!SHADOW_FROM.includes(target)) {
			throw new Conflict(
				`${model}@${version} is ${target === 'champion' ? 'the champion' : target}; only a registered version or a challenger can go into shadow.`
			);
		}
		const current = shadowOf(family);
		if (current !== null) {
			throw new Conflict(
				`${model}@${current} is already in shadow (one per model); take it out of shadow first.`
			);
		}
		await tx
			.update(modelVersions)
			.set({ state: 'shadow', stateBeforeShadow: target, stateChangedAt: sql`now()` })
			.where(and(eq(modelVersions.modelId, model), eq(modelVersions.version, version)));
		const generation = await bump(tx, model);
		await recordAudit(tx, {
			actor,
			action: 'model.shadow',
			target: { type: 'model', id: model },
			ip: context.ip ?? null,
			requestId: context.requestId ?? null,
			details: { version, fromState: target, reason, generation }
		});
		await notify(tx, model);
		return { model, version, from: target, state: 'shadow', generation };
	});
}

/**
 * Takes a model's version in shadow out of it, back to the state it had before (registered or
 * challenger); its shadow predictions are kept. Throws `ValidationFailed` (400), `NotFound` (404)
 * or `Conflict` (409: no version in shadow, a stale `expectedGeneration`, a change in progress).
 */
export async function unshadowModel(
	db: Database,
	actor: AuditActor,
	input: unknown,
	context: ChangeContext = {}
): Promise<ShadowChange> {
	const parsed = unshadowInputSchema.safeParse(input);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const { model, reason } = parsed.data;
	return change(db, async (tx) => {
		const family = await lockFamily(tx, model, parsed.data.expectedGeneration);
		const version = shadowOf(family);
		if (version === null) throw new Conflict(`Model "${model}" has no version in shadow.`);
		const [row] = await tx
			.select({ before: modelVersions.stateBeforeShadow })
			.from(modelVersions)
			.where(and(eq(modelVersions.modelId, model), eq(modelVersions.version, version)));
		const state: ModelState = row?.before === 'challenger' ? 'challenger' : 'registered';
		await tx
			.update(modelVersions)
			.set({ state, stateBeforeShadow: null, stateChangedAt: sql`now()` })
			.where(and(eq(modelVersions.modelId, model), eq(modelVersions.version, version)));
		const generation = await bump(tx, model);
		await recordAudit(tx, {
			actor,
			action: 'model.unshadow',
			target: { type: 'model', id: model },
			ip: context.ip ?? null,
			requestId: context.requestId ?? null,
			details: { version, toState: state, reason, generation }
		});
		await notify(tx, model);
		return { model, version, from: 'shadow', state, generation };
	});
}

function shadowOf(family: RegistryFamily): string | null {
	for (const [version, state] of family.states) if (state === 'shadow') return version;
	return null;
}

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** One transaction; a concurrent change caught by the database becomes a 409, never a 500. */
async function change<T>(db: Database, work: (tx: Tx) => Promise<T>): Promise<T> {
	try {
		return await db.transaction(work);
	} catch (error) {
		if (isUniqueViolation(error) || isLockNotAvailable(error)) {
			throw new Conflict('Another change to this model is in progress; reload and try again.');
		}
		throw error;
	}
}

/** Locks the family's row (without waiting: a concurrent change means 409) and reads it. */
async function lockFamily(tx: Tx, model: string, expected: number | undefined): Promise<RegistryFamily> {
	const [row] = rowsOf<{ generation: number; previous_champion: string | null }>(
		await tx.execute(
			sql`select generation, previous_champion from ${models} where ${models.id} = ${model} for update nowait`
		)
	);
	if (!row) throw new NotFound(`No model "${model}".`);
	if (expected !== undefined && expected !== row.generation) {
		throw new Conflict(
			`The registry of "${model}" changed since you looked (generation ${row.generation}, not ${expected}); reload and try again.`
		);
	}
	const versions = await tx
		.select({ version: modelVersions.version, state: modelVersions.state })
		.from(modelVersions)
		.where(eq(modelVersions.modelId, model));
	return {
		generation: row.generation,
		previousChampion: row.previous_champion,
		states: new Map(versions.map((v) => [v.version, v.state]))
	};
}

function championOf(model: string, family: RegistryFamily): string {
	for (const [version, state] of family.states) if (state === 'champion') return version;
	throw new Conflict(`Model "${model}" has no champion.`);
}

async function setState(tx: Tx, modelId: string, version: string, state: ModelState): Promise<void> {
	await tx
		.update(modelVersions)
		.set({ state, stateBeforeShadow: null, stateChangedAt: sql`now()` })
		.where(and(eq(modelVersions.modelId, modelId), eq(modelVersions.version, version)));
}

/** Adds one to the family's generation (and sets what a rollback restores, when given). */
async function bump(tx: Tx, modelId: string, previousChampion?: string | null): Promise<number> {
	const [row] = await tx
		.update(models)
		.set({
			generation: sql`${models.generation} + 1`,
			...(previousChampion === undefined ? {} : { previousChampion })
		})
		.where(eq(models.id, modelId))
		.returning({ generation: models.generation });
	return row?.generation ?? 0;
}

async function notify(tx: Tx, modelId: string): Promise<void> {
	await tx.execute(sql`select pg_notify(${REGISTRY_CHANNEL}, ${modelId})`);
}

/** PostgreSQL's lock_not_available (55P03), raised by `for update nowait`. */
function isLockNotAvailable(error: unknown): boolean {
	for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
		if ((current as { code?: unknown }).code === '55P03') return true;
	}
	return false;
}
