/**
 * The portal's applicant form, generated from a model's manifest: the fields (labels, units, help
 * texts, ranges, choices, "unknown" where missing is allowed), sample applicants taken from the
 * bundle's golden file, and the conversion between form text and raw applicants.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { goldenRowSchema, type Feature, type Manifest, type RawApplicant } from '$inference/manifest';
import { formatFeatureValue, formatPercent } from '$lib/scoring/format';
import type { FormFieldSpec, FormValues, SampleApplicant } from '$lib/scoring/types';
import type { ModelVersion } from './models.service';

/** The form's fields, one per manifest feature, in manifest order. */
export function formFieldsOf(manifest: Manifest): FormFieldSpec[] {
	return manifest.features.map((f) => ({
		name: f.name,
		label: f.label,
		description: f.description,
		type: f.type,
		unit: f.unit,
		range: f.range,
		integer: f.integer,
		options: f.categories?.map((value) => ({ value, label: f.categoryLabels?.[value] ?? value })) ?? null,
		missingAllowed: f.missingAllowed,
		actionable: f.actionable
	}));
}

/** The form text of a raw applicant ('' for missing). */
export function formValuesOf(manifest: Manifest, applicant: RawApplicant): FormValues {
	const values: FormValues = {};
	for (const f of manifest.features) {
		const value = applicant[f.name];
		values[f.name] = value === null || value === undefined ? '' : String(value);
	}
	return values;
}

/** The manifest's fields read from a submitted form, as text (the form schema converts them). */
export function formTextOf(manifest: Manifest, data: FormData): FormValues {
	const values: FormValues = {};
	for (const f of manifest.features) {
		const value = data.get(f.name);
		values[f.name] = typeof value === 'string' ? value.slice(0, 200) : '';
	}
	return values;
}

/** A raw value in words, per its feature. */
export function describeValue(feature: Feature, value: number | string | null | undefined): string {
	return formatFeatureValue(feature, value);
}

const SAMPLE_TITLES = {
	approve: 'Likely approve',
	review: 'Borderline (review)',
	decline: 'Likely decline'
} as const;

const samplesCache = new WeakMap<ModelVersion, Promise<SampleApplicant[]>>();

/**
 * A few representative applicants from the bundle's golden file: for each decision the policy can
 * give, the row whose probability is the median of the rows getting that decision.
 */
export function sampleApplicants(version: ModelVersion): Promise<SampleApplicant[]> {
	let samples = samplesCache.get(version);
	if (!samples) {
		samples = loadSamples(version);
		samplesCache.set(version, samples);
		// A read error is not cached: the next page load tries again.
		samples.catch(() => samplesCache.delete(version));
	}
	return samples;
}

async function loadSamples(version: ModelVersion): Promise<SampleApplicant[]> {
	const { manifest } = version;
	const text = await readFile(path.join(version.bundle.dir, manifest.golden.path), 'utf8');
	const rows = text
		.split('\n')
		.filter((line) => line.trim() !== '')
		.map((line) => goldenRowSchema.parse(JSON.parse(line)));
	const { approveBelow, declineAtOrAbove } = manifest.policy.cutoffs;
	const groups = { approve: [] as typeof rows, review: [] as typeof rows, decline: [] as typeof rows };
	for (const row of rows) {
		const decision =
			row.probability < approveBelow ? 'approve' : row.probability >= declineAtOrAbove ? 'decline' : 'review';
		groups[decision].push(row);
	}
	const samples: SampleApplicant[] = [];
	for (const decision of ['approve', 'review', 'decline'] as const) {
		const group = groups[decision].sort((a, b) => a.probability - b.probability);
		const median = group[Math.floor(group.length / 2)];
		if (!median) continue;
		const applicant: RawApplicant = {};
		for (const f of manifest.features) applicant[f.name] = median.raw[f.name] ?? null;
		samples.push({
			id: decision,
			title: SAMPLE_TITLES[decision],
			description: `A ${manifest.training.dataset.split('/').pop() ?? 'training'} applicant scored ${formatPercent(
				median.probability
			)} by the training library.`,
			values: formValuesOf(manifest, applicant)
		});
	}
	return samples;
}
