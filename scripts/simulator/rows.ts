/**
 * The simulator's rows: the held-out rows of a shipped model's data set (the 25 % that
 * `models/train/train.py` kept out of training, listed by `scripts/holdout-rows.py` in
 * `tests/fixtures/<model>-holdout.json`), read from the CSV as the API takes them, with their real
 * label. Training rows are never used.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { manifestSchema, type Manifest, type RawApplicant } from '../../inference/manifest';

export interface HeldOutRow {
	/** Row number in the CSV (0 = first data row after the header). */
	row: number;
	applicant: RawApplicant;
	/** The real label: the target column equals the manifest's positive class. */
	bad: boolean;
}

export interface Holdout {
	model: string;
	version: string;
	manifest: Manifest;
	rows: HeldOutRow[];
}

interface HoldoutFixture {
	source: string;
	rows: number[];
	bad: number[];
}

/** The models that ship a holdout list: the model ids with a `tests/fixtures/<model>-holdout.json`. */
export function modelsWithHoldout(root = '.'): string[] {
	const registry = readRegistry(root);
	return Object.keys(registry).filter((model) => {
		try {
			readFileSync(path.join(root, `tests/fixtures/${model}-holdout.json`));
			return true;
		} catch {
			return false;
		}
	});
}

function readRegistry(root: string): Record<string, { champion: string; challengers: string[] }> {
	return JSON.parse(readFileSync(path.join(root, 'models/registry.json'), 'utf8')) as Record<
		string,
		{ champion: string; challengers: string[] }
	>;
}

/** The shipped versions of a model (champion first), from `models/registry.json`. */
export function versionsOf(model: string, root = '.'): string[] | null {
	const entry = readRegistry(root)[model];
	return entry ? [entry.champion, ...entry.challengers] : null;
}

/** The manifest of a shipped model version. */
export function readManifest(model: string, version: string, root = '.'): Manifest {
	return manifestSchema.parse(
		JSON.parse(readFileSync(path.join(root, `models/${model}/${version}/manifest.json`), 'utf8'))
	);
}

/**
 * Reads the held-out rows of `model` (the manifest of `version`, default the registry's
 * champion, names the features). Throws when the CSV's label of a listed row differs from the
 * list's: a list out of step with the data would replay training rows.
 */
export function loadHoldout(model: string, version?: string, root = '.'): Holdout {
	const versions = versionsOf(model, root);
	if (!versions) throw new Error(`unknown model ${model}`);
	const chosen = version ?? versions[0]!;
	const manifest = readManifest(model, chosen, root);
	const fixture = JSON.parse(
		readFileSync(path.join(root, `tests/fixtures/${model}-holdout.json`), 'utf8')
	) as HoldoutFixture;
	const parsed = Papa.parse<Record<string, string>>(readFileSync(path.join(root, fixture.source), 'utf8'), {
		header: true,
		skipEmptyLines: true
	});
	const target = manifest.target;
	const rows = fixture.rows.map((index, i): HeldOutRow => {
		const line = parsed.data[index];
		if (!line) throw new Error(`${fixture.source} has no row ${index}`);
		const bad = line[target.name] === target.positive;
		if (Number(bad) !== fixture.bad[i])
			throw new Error(`${fixture.source} row ${index}: label differs from the holdout list`);
		const applicant: RawApplicant = Object.fromEntries(
			manifest.features.map((f) => {
				const cell = line[f.name];
				if (cell === undefined || cell === '' || cell === 'NA') return [f.name, null];
				return [f.name, f.type === 'numeric' ? Number(cell) : cell];
			})
		);
		return { row: index, applicant, bad };
	});
	return { model, version: chosen, manifest, rows };
}

/**
 * A seeded pseudo-random generator in [0, 1) (mulberry32): the replay order and the rows a
 * partial shift touches are the same on every run with the same seed. Six lines; the statistical
 * quality needed here (shuffling a few thousand rows) is far below what it offers.
 */
export function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** The rows in a seeded order (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
	const random = seededRandom(seed);
	const out = [...items];
	for (let i = out.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[out[i], out[j]] = [out[j]!, out[i]!];
	}
	return out;
}
