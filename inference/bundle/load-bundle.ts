/**
 * Reads a model bundle folder (`models/<id>/<version>/`): the manifest validated against the zod
 * contract and the cross-field checks, and `model.onnx` checked against its SHA-256. Anything wrong
 * stops loading with an error naming the bundle and the field.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { BundleInvalid, ChecksumMismatch } from '../errors';
import { goldenRowSchema, manifestSchema, type GoldenRow, type Manifest } from '../manifest';
import { checkManifest } from './manifest-checks';

/** A validated bundle, ready to be loaded into the pool's workers. */
export interface LoadedBundle {
	/** `<model id>@<version>`: how the pool names this exact version. */
	readonly key: string;
	/** Absolute path of the bundle folder. */
	readonly dir: string;
	readonly manifest: Manifest;
	/** Bytes of `model.onnx`, already checked against `manifest.file.sha256`. */
	readonly modelBytes: Uint8Array;
}

/** The pool's name for a version: `<model id>@<version>`. */
export function bundleKey(id: string, version: string): string {
	return `${id}@${version}`;
}

/**
 * Loads and validates one bundle folder.
 * @throws {BundleInvalid} unreadable or invalid manifest (message names bundle and field)
 * @throws {ChecksumMismatch} `model.onnx` differs from the manifest's SHA-256
 */
export async function loadBundle(dir: string): Promise<LoadedBundle> {
	const abs = path.resolve(dir);
	const name = displayName(abs);
	const manifestJson = await readJson(name, path.join(abs, 'manifest.json'));
	const parsed = manifestSchema.safeParse(manifestJson);
	if (!parsed.success) {
		const [first] = parsed.error.issues;
		throw new BundleInvalid(
			name,
			first ? formatPath(first.path) : 'manifest.json',
			describeIssues(parsed.error)
		);
	}
	const manifest = parsed.data;
	checkManifest(name, manifest);
	const modelBytes = await readBytes(name, path.join(abs, manifest.file.path));
	const actual = createHash('sha256').update(modelBytes).digest('hex');
	if (actual !== manifest.file.sha256) throw new ChecksumMismatch(name, manifest.file.sha256, actual);
	return { key: bundleKey(manifest.model.id, manifest.model.version), dir: abs, manifest, modelBytes };
}

/**
 * Loads every bundle under `modelsDir` laid out as `<id>/<version>/manifest.json`. Folders without a
 * manifest (e.g. `models/train/`) are skipped; an invalid bundle stops the whole load.
 */
export async function discoverBundles(modelsDir: string): Promise<LoadedBundle[]> {
	const root = path.resolve(modelsDir);
	const found: string[] = [];
	for (const id of await listDirs(root)) {
		for (const version of await listDirs(path.join(root, id))) {
			const dir = path.join(root, id, version);
			if (await isFile(path.join(dir, 'manifest.json'))) found.push(dir);
		}
	}
	found.sort();
	const bundles: LoadedBundle[] = [];
	for (const dir of found) {
		const bundle = await loadBundle(dir);
		// The API's URLs use the folder names; a manifest that disagrees would serve under two names.
		const [id, version] = [path.basename(path.dirname(dir)), path.basename(dir)];
		const { model } = bundle.manifest;
		if (model.id !== id)
			throw new BundleInvalid(`${id}/${version}`, 'model.id', `is "${model.id}", folder says "${id}"`);
		if (model.version !== version) {
			throw new BundleInvalid(
				`${id}/${version}`,
				'model.version',
				`is "${model.version}", folder says "${version}"`
			);
		}
		bundles.push(bundle);
	}
	return bundles;
}

/** Reads and validates `golden.jsonl`; its row count must match `manifest.golden.rows`. */
export async function readGolden(bundle: LoadedBundle): Promise<GoldenRow[]> {
	const name = displayName(bundle.dir);
	const file = path.join(bundle.dir, bundle.manifest.golden.path);
	let text: string;
	try {
		text = await readFile(file, 'utf8');
	} catch (e) {
		throw new BundleInvalid(name, 'golden.path', `cannot read ${file}: ${(e as Error).message}`);
	}
	const lines = text.split('\n').filter((l) => l.trim() !== '');
	const rows = lines.map((line, i) => {
		let json: unknown;
		try {
			json = JSON.parse(line);
		} catch {
			throw new BundleInvalid(name, `golden.jsonl line ${i + 1}`, 'not valid JSON');
		}
		const row = goldenRowSchema.safeParse(json);
		if (!row.success) throw new BundleInvalid(name, `golden.jsonl line ${i + 1}`, describeIssues(row.error));
		return row.data;
	});
	if (rows.length !== bundle.manifest.golden.rows) {
		throw new BundleInvalid(
			name,
			'golden.rows',
			`manifest says ${bundle.manifest.golden.rows}, file has ${rows.length}`
		);
	}
	return rows;
}

/** `lending-club/xgb-1.0.0`: the last two path segments, as the bundle is named in errors. */
function displayName(absDir: string): string {
	return absDir.split(path.sep).slice(-2).join('/');
}

function formatPath(p: readonly PropertyKey[]): string {
	return (
		p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('') ||
		'(root)'
	);
}

function describeIssues(err: z.ZodError): string {
	const shown = err.issues.slice(0, 5).map((i) => `${formatPath(i.path)}: ${i.message}`);
	const more = err.issues.length > shown.length ? ` (+${err.issues.length - shown.length} more)` : '';
	return shown.join('; ') + more;
}

async function readJson(bundle: string, file: string): Promise<unknown> {
	const text = (await readBytes(bundle, file)).toString();
	try {
		return JSON.parse(text) as unknown;
	} catch (e) {
		throw new BundleInvalid(bundle, path.basename(file), `not valid JSON (${(e as Error).message})`);
	}
}

async function readBytes(bundle: string, file: string): Promise<Buffer> {
	try {
		return await readFile(file);
	} catch (e) {
		throw new BundleInvalid(bundle, path.basename(file), `cannot read ${file}: ${(e as Error).message}`);
	}
}

async function listDirs(dir: string): Promise<string[]> {
	const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
	return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

async function isFile(file: string): Promise<boolean> {
	return stat(file).then(
		(s) => s.isFile(),
		() => false
	);
}
