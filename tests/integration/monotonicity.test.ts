/**
 * Monotone constraints hold in the served models: for real applicants from the training CSVs, every
 * feature with a declared `riskDirection` is swept over its range (numeric: the range ends and a grid
 * over the training p05..p95; ordinal: every category in order) with the other inputs fixed, and the
 * probability the inference pool returns never moves against the declared direction.
 */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestSchema, type Feature, type Manifest, type RawApplicant } from '$inference/manifest';
import { startTestCore, type TestCore } from '../helpers/core';

const ROWS_PER_PRODUCT = 300;
const GRID_POINTS = 18; // inside p05..p95, plus the two range ends
const TOLERANCE = 1e-6; // on the probability

const registry = JSON.parse(readFileSync('models/registry.json', 'utf8')) as Record<
	string,
	{ champion: string; challengers: string[] }
>;
const versions = Object.entries(registry).flatMap(([id, r]) =>
	[r.champion, ...r.challengers].map((version) => ({ id, version }))
);

function loadManifest(id: string, version: string): Manifest {
	return manifestSchema.parse(JSON.parse(readFileSync(`models/${id}/${version}/manifest.json`, 'utf8')));
}

/** Every ROWS_PER_PRODUCT-th share of the CSV's rows, as raw applicants of the manifest's features. */
function applicants(manifest: Manifest): RawApplicant[] {
	const csv = readFileSync(manifest.training.dataset, 'utf8');
	const parsed = Papa.parse<Record<string, string>>(csv.trim(), { header: true });
	expect(parsed.errors).toEqual([]);
	const step = Math.floor(parsed.data.length / ROWS_PER_PRODUCT);
	return Array.from({ length: ROWS_PER_PRODUCT }, (_, i) => {
		const line = parsed.data[i * step] ?? {};
		const raw: RawApplicant = {};
		for (const f of manifest.features) {
			const text = line[f.name];
			if (text === undefined) throw new Error(`column ${f.name} missing from the CSV`);
			raw[f.name] = text === 'NA' ? null : f.type === 'numeric' ? Number(text) : text;
		}
		return raw;
	});
}

/** The values a feature is swept over, in increasing order. */
function sweep(manifest: Manifest, f: Feature): (number | string)[] {
	if (f.type === 'ordinal') return [...(f.categories ?? [])];
	const range = f.range;
	const reference = manifest.reference.features[f.name];
	if (!range || reference?.kind !== 'numeric') throw new Error(`${f.name}: no range or reference`);
	const low = Math.max(range.min, reference.quantiles.p05);
	const high = Math.min(range.max, reference.quantiles.p95);
	const inner = Array.from({ length: GRID_POINTS }, (_, k) => low + ((high - low) * k) / (GRID_POINTS - 1));
	const values = [range.min, ...inner, range.max].map((v) => (f.integer ? Math.round(v) : v));
	return [...new Set(values)].sort((a, b) => a - b);
}

describe('monotone constraints in the served models', () => {
	let t: TestCore;

	beforeAll(async () => {
		t = await startTestCore('pglite');
	});
	afterAll(async () => {
		await t.dispose();
	});

	for (const { id, version } of versions) {
		it(`${id}@${version}: no probability moves against a declared risk direction`, async () => {
			const manifest = loadManifest(id, version);
			const base = applicants(manifest);
			const directed = manifest.features.filter((f) => f.riskDirection !== null);
			expect(directed.length).toBeGreaterThan(0);

			let checks = 0;
			let moved = 0;
			let violations = 0;
			const examples: string[] = [];
			for (const f of directed) {
				const values = sweep(manifest, f);
				const rows = base.flatMap((raw) => values.map((value) => ({ ...raw, [f.name]: value })));
				const { probability } = await t.core.pool.scoreBatch(`${id}@${version}`, rows);
				const sign = f.riskDirection === 'increasing' ? 1 : -1;
				for (let r = 0; r < base.length; r++) {
					for (let k = 1; k < values.length; k++) {
						const step =
							sign * (probability[r * values.length + k]! - probability[r * values.length + k - 1]!);
						checks += 1;
						if (step > TOLERANCE) moved += 1;
						if (step >= -TOLERANCE) continue;
						violations += 1;
						if (examples.length < 10)
							examples.push(`row ${r}: ${f.name} ${values[k - 1]} → ${values[k]} (${step})`);
					}
				}
			}
			console.info(
				`${id}@${version}: ${checks} monotonicity checks over ${directed.length} features, ` +
					`${moved} steps moved the probability in the declared direction, ${violations} violations`
			);
			expect(examples).toEqual([]);
			expect(violations).toBe(0);
			// Not a vacuous sweep: the constrained features do move the served probability.
			expect(moved).toBeGreaterThan(checks / 20);
		});
	}
});
