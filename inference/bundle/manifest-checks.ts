/**
 * Cross-field checks the zod schema cannot express: every tensor column is produced by exactly one
 * feature, categories agree with encodings, a linear model has its column means, the policy is
 * ordered. Loading stops at the first broken rule with the bundle and the field in the message, so
 * a bad bundle fails at start-up instead of encoding rows wrongly later.
 */
import { BundleInvalid } from '../errors';
import type { Feature, Manifest } from '../manifest';

/** Tensor columns a feature writes, in encoding order. */
export function featureColumns(feature: Feature): number[] {
	const enc = feature.encoding;
	switch (enc.kind) {
		case 'passthrough':
		case 'ordinal':
			return [enc.column];
		case 'one_hot':
			return Object.values(enc.columns);
	}
}

/** Throws {@link BundleInvalid} naming `bundle` and the offending field. */
export function checkManifest(bundle: string, m: Manifest): void {
	const fail = (field: string, detail: string): never => {
		throw new BundleInvalid(bundle, field, detail);
	};
	const nCols = m.input.columns.length;
	const owner = new Array<string | undefined>(nCols);
	const names = new Set<string>();
	m.features.forEach((f, i) => {
		const at = `features[${i}] (${f.name})`;
		if (names.has(f.name)) fail(`${at}.name`, 'duplicate feature name');
		names.add(f.name);
		checkFeatureTyping(f, at, fail);
		checkChange(f, at, fail);
		for (const col of featureColumns(f)) {
			if (col >= nCols) fail(`${at}.encoding`, `column ${col} is outside input.columns (${nCols})`);
			const prev = owner[col];
			if (prev !== undefined) fail(`${at}.encoding`, `column ${col} is also written by ${prev}`);
			owner[col] = f.name;
		}
	});
	const orphan = owner.findIndex((o) => o === undefined);
	if (orphan >= 0)
		fail('input.columns', `column ${orphan} (${m.input.columns[orphan]}) is written by no feature`);

	if (m.model.kind === 'linear') {
		const means = m.explanation.columnMeans;
		if (means === null) fail('explanation.columnMeans', 'a linear model needs training column means');
		else if (means.length !== nCols)
			fail('explanation.columnMeans', `has ${means.length} values for ${nCols} columns`);
	}
	checkPolicy(m, fail);
}

function checkFeatureTyping(f: Feature, at: string, fail: (field: string, detail: string) => never): void {
	const enc = f.encoding;
	if (f.type === 'numeric') {
		if (enc.kind !== 'passthrough')
			fail(`${at}.encoding.kind`, `a numeric feature needs passthrough, not ${enc.kind}`);
		if (f.range !== null && !(f.range.min <= f.range.max)) fail(`${at}.range`, 'min is above max');
		return;
	}
	if (enc.kind === 'passthrough') fail(`${at}.encoding.kind`, `a ${f.type} feature cannot be passthrough`);
	if (f.categories === null || f.categories.length === 0)
		fail(`${at}.categories`, `a ${f.type} feature needs categories`);
	const cats = f.categories ?? [];
	const mapped = enc.kind === 'one_hot' ? enc.columns : enc.kind === 'ordinal' ? enc.codes : {};
	for (const c of cats) {
		if (!Object.hasOwn(mapped, c)) fail(`${at}.encoding`, `category "${c}" has no encoding`);
	}
	for (const c of Object.keys(mapped)) {
		if (!cats.includes(c)) fail(`${at}.encoding`, `encodes "${c}", which is not in categories`);
	}
}

/** `change` agrees with `actionable`, the feature's type and its domain. */
function checkChange(f: Feature, at: string, fail: (field: string, detail: string) => never): void {
	const { change } = f;
	if (f.actionable !== (change !== null)) fail(`${at}.change`, 'must be set exactly when actionable is true');
	if (change === null) return;
	if (f.type === 'categorical' && change.direction !== 'either') {
		fail(`${at}.change.direction`, 'a categorical feature has no order: use "either"');
	}
	for (const value of change.values ?? []) {
		const ok =
			f.type === 'numeric'
				? typeof value === 'number' && (f.range === null || (value >= f.range.min && value <= f.range.max))
				: typeof value === 'string' && (f.categories ?? []).includes(value);
		if (!ok) fail(`${at}.change.values`, `${JSON.stringify(value)} is not a valid value of the feature`);
	}
}

function checkPolicy(m: Manifest, fail: (field: string, detail: string) => never): void {
	const { cutoffs, bands } = m.policy;
	if (cutoffs.approveBelow > cutoffs.declineAtOrAbove) {
		fail('policy.cutoffs', 'approveBelow is above declineAtOrAbove');
	}
	bands.forEach((b, i) => {
		const prev = bands[i - 1];
		if (prev !== undefined && !(b.maxProbability > prev.maxProbability)) {
			fail(`policy.bands[${i}].maxProbability`, 'bands must be in ascending maxProbability');
		}
	});
	if (bands[bands.length - 1]?.maxProbability !== 1)
		fail('policy.bands', 'the last band must have maxProbability 1');
}
