/**
 * Idempotent replay: a call that repeats an idempotency key gets what was recorded under it, and a
 * key reused for a different request is refused. Batch rows are keyed `<key>/<index>`.
 */
import { and, eq, gte, lt } from 'drizzle-orm';
import type { RawApplicant } from '$inference/manifest';
import type { Database } from '../../db';
import { predictions, type Prediction } from '../../db/schema';
import { Conflict, ValidationFailed } from '../../errors';
import type { ModelVersion } from '../models.service';
import { storedResult } from './stored';
import type { BatchRow, ScoreResult } from './types';

/** A valid row of a batch, by its index in the request. */
export interface IndexedApplicant {
	index: number;
	applicant: RawApplicant;
}

export async function findStored(
	db: Database,
	requester: string,
	key: string
): Promise<Prediction | undefined> {
	const [stored] = await db
		.select()
		.from(predictions)
		.where(and(eq(predictions.requester, requester), eq(predictions.idempotencyKey, key)))
		.limit(1);
	return stored;
}

export async function findStoredBatch(db: Database, requester: string, key: string): Promise<Prediction[]> {
	// '0' sorts right after '/', so this is a range scan over `<key>/…`.
	return db
		.select()
		.from(predictions)
		.where(
			and(
				eq(predictions.requester, requester),
				gte(predictions.idempotencyKey, `${key}/`),
				lt(predictions.idempotencyKey, `${key}0`)
			)
		);
}

/**
 * A retry that names a version (`version`, `?version=`) must name the one the key was recorded
 * with: the answer of another version is not the answer it asks for. Without one, the recorded
 * answer stands, whichever version was the champion then.
 */
function refuseOtherVersion(stored: Prediction, version: ModelVersion, versionNamed: boolean): void {
	if (versionNamed && stored.modelVersion !== version.manifest.model.version) {
		throw new Conflict(
			`This idempotency key was recorded with version ${stored.modelVersion}; send that version or a new key.`
		);
	}
}

/** The stored answer, if it was for this model, this applicant and this application reference. */
export function replay(
	stored: Prediction,
	version: ModelVersion,
	applicant: RawApplicant,
	applicationId: string | null,
	explain: boolean,
	versionNamed: boolean
): ScoreResult {
	refuseOtherVersion(stored, version, versionNamed);
	if (
		stored.modelId !== version.manifest.model.id ||
		stored.applicationId !== applicationId ||
		!sameApplicant(stored.input, applicant)
	) {
		throw new ValidationFailed(
			{ requestId: ['This idempotency key was already used for a different request.'] },
			'Idempotency key reused with a different request.'
		);
	}
	return storedResult(stored, version, explain, true);
}

/**
 * Fills `results` with the stored answers of an earlier call under the same key and returns the
 * valid rows it did not record (a call cut off between two group commits), to be scored now.
 */
export function replayBatch(
	stored: Prediction[],
	version: ModelVersion,
	explain: boolean,
	results: BatchRow[],
	valid: IndexedApplicant[],
	applicationIds: readonly (string | null)[] | undefined,
	versionNamed: boolean
): IndexedApplicant[] {
	for (const prediction of stored) refuseOtherVersion(prediction, version, versionNamed);
	const byIndex = new Map(stored.map((p) => [Number(p.idempotencyKey?.split('/').pop()), p]));
	const validIndexes = new Set(valid.map(({ index }) => index));
	const reused = (): ValidationFailed =>
		new ValidationFailed(
			{ requestId: ['This idempotency key was already used for a different batch.'] },
			'Idempotency key reused with a different batch.'
		);
	if ([...byIndex.keys()].some((index) => !validIndexes.has(index))) throw reused();
	const missing: IndexedApplicant[] = [];
	for (const { index, applicant } of valid) {
		const prediction = byIndex.get(index);
		if (!prediction) {
			missing.push({ index, applicant });
			continue;
		}
		if (
			prediction.modelId !== version.manifest.model.id ||
			prediction.applicationId !== (applicationIds?.[index] ?? null) ||
			!sameApplicant(prediction.input, applicant)
		) {
			throw reused();
		}
		results[index] = { index, ok: true, ...storedResult(prediction, version, explain, true) };
	}
	return missing;
}

function sameApplicant(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
	const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
	for (const key of keys) if ((a[key] ?? null) !== (b[key] ?? null)) return false;
	return true;
}
