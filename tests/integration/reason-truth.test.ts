/**
 * Every reason given on every real row of every shipped model version is true of its applicant:
 * the value it prints is the applicant's, the category it names is the applicant's, and a share
 * it names ("lower than for 80 % of applicants") holds in that direction, recomputed here from the
 * manifest's reference population. Scored through the served path (tRPC batch scoring).
 */
import { readFile } from 'node:fs/promises';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestSchema, type Feature, type Manifest, type RawApplicant } from '$inference/manifest';
import { createCaller } from '$lib/server/trpc/root';
import { startTestCore, type TestCore } from '../helpers/core';

const DATA: Record<string, string> = {
	'lending-club': 'models/data/lending_club.csv',
	'consumer-credit': 'models/data/credit_data.csv'
};

interface Reason {
	feature: string;
	code: string;
	text: string;
	contribution: number;
	value: number | string | null;
}

async function shippedVersions(): Promise<{ id: string; version: string; manifest: Manifest }[]> {
	const registry = JSON.parse(await readFile('models/registry.json', 'utf8')) as Record<
		string,
		{ champion: string; challengers: string[] }
	>;
	const out = [];
	for (const [id, entry] of Object.entries(registry)) {
		for (const version of [entry.champion, ...entry.challengers]) {
			const raw: unknown = JSON.parse(await readFile(`models/${id}/${version}/manifest.json`, 'utf8'));
			out.push({ id, version, manifest: manifestSchema.parse(raw) });
		}
	}
	return out;
}

async function applicantsOf(manifest: Manifest): Promise<RawApplicant[]> {
	const path = DATA[manifest.model.id];
	if (!path) throw new Error(`no data file for ${manifest.model.id}`);
	const parsed = Papa.parse<Record<string, string>>(await readFile(path, 'utf8'), {
		header: true,
		skipEmptyLines: true
	});
	return parsed.data.map((row) =>
		Object.fromEntries(
			manifest.features.map((f) => {
				const cell = row[f.name];
				if (cell === undefined || cell === '' || cell === 'NA') return [f.name, null];
				return [f.name, f.type === 'numeric' ? Number(cell) : cell];
			})
		)
	);
}

/**
 * The shares of the reference strictly below / above v that can be guaranteed, written apart from
 * the production code: each bin is the set of values it may hold ([a, b), the last [a, b]); a bin
 * wholly on one side counts fully, a bin straddling v counts by linear interpolation only for a
 * continuous feature and only when v is strictly inside it.
 */
function guaranteedShares(feature: Feature, manifest: Manifest, v: number): { below: number; above: number } {
	const ref = manifest.reference.features[feature.name];
	if (ref?.kind !== 'numeric') throw new Error(`${feature.name}: no numeric reference`);
	let below = 0;
	let above = 0;
	ref.proportions.forEach((p, i) => {
		const lo = ref.edges[i]!;
		const hi = ref.edges[i + 1]!;
		const maxHeld = i === ref.proportions.length - 1 ? hi : hi - Number.EPSILON * Math.max(1, Math.abs(hi));
		if (maxHeld < v) below += p;
		else if (lo > v) above += p;
		else if (!feature.integer && lo < v && v < hi) {
			below += (p * (v - lo)) / (hi - lo);
			above += (p * (hi - v)) / (hi - lo);
		}
	});
	return { below, above };
}

function escape(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The number printed with its unit, read back; null when the unit is not the feature's. */
function readQuantity(printed: string, unit: string | null): number | null {
	const m = /^(-?[\d,]+(?:\.\d+)?)(?: (.+))?$/.exec(printed);
	if (!m) return null;
	const shownUnit = m[2] ?? null;
	if (unit === null ? shownUnit !== null : shownUnit !== unit && `${shownUnit}s` !== unit) return null;
	return Number(m[1]!.replaceAll(',', ''));
}

/** Why a reason is not true of its applicant, or null when it is. */
function contradiction(manifest: Manifest, applicant: RawApplicant, reason: Reason): string | null {
	const feature = manifest.features.find((f) => f.name === reason.feature);
	if (!feature) return 'unknown feature';
	if (reason.code !== feature.reason.code) return `code ${reason.code} is not ${feature.reason.code}`;
	if (!(reason.contribution > 0)) return 'a reason that did not raise the risk';
	const value = applicant[feature.name] ?? null;
	if (reason.value !== value) return `value ${String(reason.value)} is not the applicant's ${String(value)}`;
	const label = escape(feature.label);
	if (value === null)
		return reason.text === `${feature.label} was not provided` ? null : 'missing value not said';
	if (feature.type !== 'numeric') {
		const category = feature.categoryLabels?.[String(value)] ?? String(value);
		if (reason.text === `${feature.label}: ${category}`) return null;
		const m = new RegExp(`^${label} (.+) is worse than for (\\d+) % of applicants$`).exec(reason.text);
		if (!m) return 'unrecognised sentence';
		if (m[1] !== category) return `names ${m[1]}, not the applicant's ${category}`;
		if (feature.type !== 'ordinal' || feature.riskDirection === null)
			return 'a risk order the manifest does not declare';
		const ref = manifest.reference.features[feature.name];
		if (ref?.kind !== 'categorical') return 'no reference';
		const order = feature.categories ?? [];
		const at = order.indexOf(String(value));
		const better = order.filter((_, i) => (feature.riskDirection === 'increasing' ? i < at : i > at));
		const share = better.reduce((sum, c) => sum + (ref.frequencies[c] ?? 0), 0);
		return Number(m[2]) <= share * 100 ? null : `worse than ${m[2]} %, but only ${share * 100} % are better`;
	}
	if (typeof value !== 'number') return 'a numeric feature with a category';
	const plain = new RegExp(`^${label}: (.+)$`).exec(reason.text);
	const ranked = new RegExp(`^${label} of (.+) is (higher|lower) than for (\\d+) % of applicants$`).exec(
		reason.text
	);
	const printed = readQuantity(ranked?.[1] ?? plain?.[1] ?? '', feature.unit);
	if (printed === null) return 'value not printed with its unit';
	if (Math.abs(printed - value) > 0.005 + 1e-9 * Math.abs(value)) return `prints ${printed} for ${value}`;
	if (!ranked) return null;
	const shares = guaranteedShares(feature, manifest, value);
	const side = ranked[2] as 'higher' | 'lower';
	if (feature.riskDirection === 'increasing' && side !== 'higher') return 'not on the risky side';
	if (feature.riskDirection === 'decreasing' && side !== 'lower') return 'not on the risky side';
	const share = side === 'higher' ? shares.below : shares.above;
	const percent = Number(ranked[3]);
	if (percent > 95 || percent % 5 !== 0) return `percent ${percent} is not a step of 5 up to 95`;
	return percent <= share * 100 + 1e-9
		? null
		: `${side} than ${percent} %, but the reference gives ${share * 100} %`;
}

describe('reasons on the shipped data', () => {
	let t: TestCore;
	beforeAll(async () => {
		t = await startTestCore('pglite');
	});
	afterAll(async () => {
		await t.dispose();
	});

	it('should give no reason that contradicts its applicant, on every row of every shipped model version', async () => {
		const scoring = createCaller(t.context('scorer')).scoring;
		const uses = new Map<string, { model: string; code: string; reasons: number; ranked: number }>();
		const problems: string[] = [];
		let rows = 0;
		for (const { id, version, manifest } of await shippedVersions()) {
			const applicants = await applicantsOf(manifest);
			const batch = await scoring.scoreBatch({ model: id, version, applicants });
			expect(batch.summary).toMatchObject({ rows: applicants.length, scored: applicants.length });
			for (const result of batch.results) {
				if (!result.ok) continue;
				rows++;
				const applicant = applicants[result.index]!;
				expect(result.reasons.length).toBeLessThanOrEqual(4);
				result.reasons.forEach((reason, k) => {
					const before = result.reasons[k - 1];
					if (before && before.contribution < reason.contribution)
						problems.push(`${id} row ${result.index}: not strongest first`);
					const why = contradiction(manifest, applicant, reason);
					if (why)
						problems.push(`${id} ${version} row ${result.index + 1} ${reason.code} "${reason.text}": ${why}`);
					const key = `${id}/${version}/${reason.code}`;
					const use = uses.get(key) ?? {
						model: `${id} ${version}`,
						code: reason.code,
						reasons: 0,
						ranked: 0
					};
					use.reasons++;
					if (reason.standing) use.ranked++;
					uses.set(key, use);
				});
			}
		}
		console.table([...uses.values()].sort((a, b) => a.model.localeCompare(b.model) || b.reasons - a.reasons));
		expect(rows).toBeGreaterThan(20_000);
		expect(problems.slice(0, 20)).toEqual([]);
	}, 120_000);
});
