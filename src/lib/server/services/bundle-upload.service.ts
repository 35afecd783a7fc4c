/**
 * Uploading a bundle: one archive (see `inference/bundle/archive.ts`) is registered only when its
 * manifest validates, `model.onnx` matches the manifest's SHA-256, and every golden row reproduces
 * in the inference workers (probability within 1e-6, each SHAP value within 1e-5, the tolerances
 * of the shipped bundles' golden test). Otherwise it is refused with the failing checks and rows,
 * and nothing is written. The archive is stored in the database with the version's registry row,
 * so every instance sharing the database can load it (`loadStoredBundle`).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { ArchiveInvalid, BUNDLE_FILES, readBundleArchive } from '../../../../inference/bundle/archive';
import { loadBundle, readGolden, type LoadedBundle } from '../../../../inference/bundle/load-bundle';
import { InferenceError } from '../../../../inference/errors';
import { manifestSchema, type GoldenRow, type Manifest } from '../../../../inference/manifest';
import type { InferencePool } from '../../../../inference/pool/pool';
import { toFieldErrors } from '../../validation/field-errors';
import type { Database } from '../db';
import { modelBundles, models, modelVersions, type ModelState } from '../db/schema';
import { Conflict, isUniqueViolation, ValidationFailed } from '../errors';
import { recordAudit, type AuditActor } from './audit.service';
import { REGISTRY_CHANNEL, type ChangeContext } from './model-registry.service';

export const PROBABILITY_TOLERANCE = 1e-6;
export const SHAP_TOLERANCE = 1e-5;
/** Unpacked bytes at most: far above the shipped bundles (under 0.5 MB each). */
const MAX_UNPACKED_BYTES = 64 * 1024 * 1024;
/** Failing rows listed in a refusal at most. */
const MAX_LISTED = 10;

export const uploadInputSchema = z.strictObject({
	archive: z
		.string({ error: 'Attach the bundle archive (tar or tar.gz, base64-encoded).' })
		.min(1, 'Attach the bundle archive (tar or tar.gz, base64-encoded).')
		.regex(/^[A-Za-z0-9+/]+={0,2}$/, 'Not base64.'),
	reason: z
		.string({ error: 'Give the reason for this upload.' })
		.trim()
		.min(3, 'Give the reason for this upload (at least 3 characters).')
		.max(2000, 'At most 2,000 characters.')
});
export type UploadInput = z.input<typeof uploadInputSchema>;

export interface UploadResult {
	model: string;
	version: string;
	state: ModelState;
	sha256: string;
	goldenRows: number;
	maxProbabilityError: number;
	maxShapError: number;
}

export interface UploadDeps {
	db: Database;
	pool: InferencePool;
	/** Where bundles loaded at run time are unpacked, one folder per version. */
	bundleDir: string;
}

/**
 * Checks and registers an uploaded bundle; on success it is loaded in this instance's workers and
 * stored for the others. Throws `ValidationFailed` (400: `archive` for the archive, manifest or
 * checksum, `golden` for rows that do not reproduce) or `Conflict` (409: the version exists).
 */
export async function uploadBundle(
	deps: UploadDeps,
	actor: AuditActor,
	input: unknown,
	context: ChangeContext = {},
	isKnown: (id: string, version: string) => boolean = () => false
): Promise<{ result: UploadResult; bundle: LoadedBundle }> {
	const parsed = uploadInputSchema.safeParse(input);
	if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
	const archive = Buffer.from(parsed.data.archive, 'base64');
	const incoming = path.join(deps.bundleDir, `.incoming-${randomUUID()}`);
	let loaded: string | null = null;
	try {
		const bundle = await unpack(archive, incoming);
		const { id, version } = bundle.manifest.model;
		if (isKnown(id, version)) throw new Conflict(`${id}@${version} is already registered.`);
		const golden = await refusedAs('archive', () => readGolden(bundle));
		await refusedAs('archive', () => deps.pool.load(bundle, { activate: false }));
		loaded = bundle.key;
		const parity = await checkParity(deps.pool, bundle, golden);
		const state = await store(deps.db, actor, bundle, archive, parity, parsed.data.reason, context);
		const final = path.join(deps.bundleDir, id, version);
		await rm(final, { recursive: true, force: true });
		await mkdir(path.dirname(final), { recursive: true });
		await rename(incoming, final);
		loaded = null;
		return {
			result: {
				model: id,
				version,
				state,
				sha256: bundle.manifest.file.sha256,
				goldenRows: golden.length,
				...parity
			},
			bundle: { ...bundle, dir: final }
		};
	} finally {
		if (loaded !== null) await deps.pool.retire(loaded).catch(() => undefined);
		await rm(incoming, { recursive: true, force: true });
	}
}

/**
 * Loads a bundle another instance uploaded: its archive from the database, unpacked under
 * `bundleDir`, validated like any bundle, then into this instance's workers. Null when the
 * database holds no archive for it (a bundle shipped on another instance's disk only).
 */
export async function loadStoredBundle(
	deps: UploadDeps,
	id: string,
	version: string
): Promise<LoadedBundle | null> {
	const [row] = await deps.db
		.select({ archive: modelBundles.archive })
		.from(modelBundles)
		.where(and(eq(modelBundles.modelId, id), eq(modelBundles.version, version)));
	if (!row) return null;
	const dir = path.join(deps.bundleDir, id, version);
	await rm(dir, { recursive: true, force: true });
	const bundle = await unpack(row.archive, dir);
	await deps.pool.load(bundle, { activate: false });
	return bundle;
}

/**
 * The manifests of every uploaded bundle stored in the database, read from their archives without
 * loading a model (for work that needs a version's reference, not its inference).
 */
export async function storedManifests(db: Pick<Database, 'select'>): Promise<Manifest[]> {
	const rows = await db.select({ archive: modelBundles.archive }).from(modelBundles);
	return rows.map(({ archive }) => {
		const manifest = readBundleArchive(archive, MAX_UNPACKED_BYTES).get('manifest.json');
		return manifestSchema.parse(JSON.parse(new TextDecoder().decode(manifest)));
	});
}

async function unpack(archive: Uint8Array, dir: string): Promise<LoadedBundle> {
	let files;
	try {
		files = readBundleArchive(archive, MAX_UNPACKED_BYTES);
	} catch (error) {
		if (error instanceof ArchiveInvalid) throw new ValidationFailed({ archive: [error.message] });
		throw error;
	}
	await mkdir(dir, { recursive: true });
	for (const name of BUNDLE_FILES) await writeFile(path.join(dir, name), files.get(name) ?? new Uint8Array());
	return refusedAs('archive', () => loadBundle(dir));
}

/** An inference error (bad manifest, checksum, unsupported graph) becomes a field error. */
async function refusedAs<T>(field: string, work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		if (error instanceof InferenceError) throw new ValidationFailed({ [field]: [error.message] });
		throw error;
	}
}

/** Scores the golden rows in the workers and compares them with the training library's answers. */
async function checkParity(
	pool: InferencePool,
	bundle: LoadedBundle,
	golden: GoldenRow[]
): Promise<{ maxProbabilityError: number; maxShapError: number }> {
	const scored = await refusedAs('golden', () =>
		pool.scoreBatch(
			bundle.key,
			golden.map((g) => g.raw),
			{ explain: true }
		)
	);
	const features = scored.features;
	const failures: string[] = [];
	let maxProbabilityError = 0;
	let maxShapError = 0;
	golden.forEach((g, row) => {
		const probability = scored.probability[row] ?? Number.NaN;
		const dp = Math.abs(probability - g.probability);
		maxProbabilityError = Math.max(maxProbabilityError, Number.isNaN(dp) ? Infinity : dp);
		if (!(dp <= PROBABILITY_TOLERANCE)) {
			failures.push(`row ${row + 1}: probability ${probability}, golden ${g.probability}`);
		}
		features.forEach((feature, j) => {
			const value = scored.shap?.[row * features.length + j] ?? Number.NaN;
			const ds = Math.abs(value - (g.shap[feature] ?? Number.NaN));
			maxShapError = Math.max(maxShapError, Number.isNaN(ds) ? Infinity : ds);
			if (!(ds <= SHAP_TOLERANCE)) {
				failures.push(`row ${row + 1}: SHAP of ${feature} ${value}, golden ${String(g.shap[feature])}`);
			}
		});
	});
	if (failures.length > 0) {
		const listed = failures.slice(0, MAX_LISTED);
		if (failures.length > MAX_LISTED) listed.push(`… and ${failures.length - MAX_LISTED} more`);
		throw new ValidationFailed(
			{ golden: listed },
			`The golden rows do not reproduce in the inference workers (tolerance ${PROBABILITY_TOLERANCE} on the probability, ${SHAP_TOLERANCE} on SHAP).`
		);
	}
	return { maxProbabilityError, maxShapError };
}

/** Registers the version and stores its archive, in one audited transaction. */
async function store(
	db: Database,
	actor: AuditActor,
	bundle: LoadedBundle,
	archive: Uint8Array,
	parity: { maxProbabilityError: number; maxShapError: number },
	reason: string,
	context: ChangeContext
): Promise<ModelState> {
	const { id, version, name } = bundle.manifest.model;
	try {
		return await db.transaction(async (tx) => {
			await tx.insert(models).values({ id, name }).onConflictDoNothing();
			const [champion] = await tx
				.select({ version: modelVersions.version })
				.from(modelVersions)
				.where(and(eq(modelVersions.modelId, id), eq(modelVersions.state, 'champion')));
			const state: ModelState = champion ? 'registered' : 'champion';
			await tx
				.insert(modelVersions)
				.values({ modelId: id, version, state, sha256: bundle.manifest.file.sha256 });
			await tx.insert(modelBundles).values({
				modelId: id,
				version,
				archive,
				uploadedBy: `${actor.kind}:${actor.id ?? 'unknown'}`
			});
			await tx
				.update(models)
				.set({ generation: sql`${models.generation} + 1` })
				.where(eq(models.id, id));
			await recordAudit(tx, {
				actor,
				action: 'model.upload',
				target: { type: 'model', id },
				ip: context.ip ?? null,
				requestId: context.requestId ?? null,
				details: { version, state, sha256: bundle.manifest.file.sha256, reason, ...parity }
			});
			await tx.execute(sql`select pg_notify(${REGISTRY_CHANNEL}, ${id})`);
			return state;
		});
	} catch (error) {
		if (isUniqueViolation(error)) throw new Conflict(`${id}@${version} is already registered.`);
		throw error;
	}
}
