import { beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../manifest';
import { loadTinyTrees } from '../test-fixtures/fixtures';
import { buildApplicantSchema } from './applicant-schema';

let manifest: Manifest;
beforeAll(async () => {
	manifest = (await loadTinyTrees()).manifest;
});

const valid = { income: 52000, purpose: 'car', grade: 'B', age: 31 };

/** Field → messages of a failed parse. */
function errors(input: unknown, coerce = false): Record<string, string[]> {
	const r = buildApplicantSchema(manifest, { coerce }).safeParse(input);
	if (r.success) return {};
	const out: Record<string, string[]> = {};
	for (const i of r.error.issues) (out[i.path.join('.') || '(root)'] ??= []).push(i.message);
	return out;
}

describe('buildApplicantSchema', () => {
	it('should accept a valid applicant unchanged', () => {
		expect(buildApplicantSchema(manifest).parse(valid)).toEqual(valid);
	});

	it('should turn an absent optional feature into null', () => {
		const { income: _, ...rest } = valid;
		expect(buildApplicantSchema(manifest).parse(rest)).toEqual({ ...rest, income: null });
	});

	it('should reject unknown fields', () => {
		expect(errors({ ...valid, favouriteColour: 'blue' })).toEqual({
			'(root)': ['unknown field(s): favouriteColour']
		});
	});

	it('should reject out-of-range and fractional values with the label in the message', () => {
		expect(errors({ ...valid, age: 17 })).toEqual({ age: ['Age must be at least 18 years'] });
		expect(errors({ ...valid, age: 30.5 })).toEqual({ age: ['Age must be a whole number'] });
		expect(errors({ ...valid, income: -1 })).toEqual({ income: ['Annual income must be at least 0 USD'] });
	});

	it('should reject a category that is not allowed, listing the allowed ones', () => {
		expect(errors({ ...valid, purpose: 'boat' })).toEqual({
			purpose: ['Loan purpose must be one of: car, home, other']
		});
	});

	it('should reject a missing value where the manifest does not allow one', () => {
		expect(errors({ ...valid, grade: null })).toEqual({ grade: ['Credit grade is required'] });
		const { age: _, ...noAge } = valid;
		expect(errors(noAge)).toEqual({ age: ['Age is required'] });
	});

	it('should reject the wrong type and non-finite numbers', () => {
		expect(errors({ ...valid, income: '52000' })).toEqual({ income: ['Annual income must be a number'] });
		expect(Object.keys(errors({ ...valid, income: Infinity }))).toEqual(['income']);
	});

	it('should coerce form and CSV text when asked', () => {
		const parsed = buildApplicantSchema(manifest, { coerce: true }).parse({
			income: ' ',
			purpose: 'home',
			grade: 'A',
			age: '40'
		});
		expect(parsed).toEqual({ income: null, purpose: 'home', grade: 'A', age: 40 });
		expect(errors({ ...valid, age: 'forty' }, true)).toEqual({ age: ['Age must be a number'] });
	});
});
