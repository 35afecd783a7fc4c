import fc from 'fast-check';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Feature, Manifest } from '../manifest';
import { loadTinyTrees, REPO_ROOT } from '../test-fixtures/fixtures';
import { buildApplicantSchema, compileApplicantCheck } from './applicant-schema';
import { discoverBundles } from './load-bundle';

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

	it('should quote unknown field names briefly, however many and long they are', () => {
		const long = 'x'.repeat(5000);
		const extra = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`${long}${i}`, 1]));
		const [message] = errors({ ...valid, ...extra })['(root)'] ?? [];
		expect(message).toMatch(/^unknown field\(s\): x{63}…, x{63}…, .* and 2 more$/);
		expect(message?.length).toBeLessThan(800);
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

/** A value for `f`: valid, at or past its bounds, of the wrong type, or missing in every way. */
function featureValue(f: Feature): fc.Arbitrary<unknown> {
	const min = f.range?.min ?? -1e6;
	const max = f.range?.max ?? 1e6;
	const valid =
		f.type === 'numeric'
			? f.integer
				? fc.integer({ min: Math.ceil(min), max: Math.floor(Math.min(max, Number.MAX_SAFE_INTEGER)) })
				: fc.double({ min, max, noNaN: true })
			: fc.constantFrom(...(f.categories ?? ['none']));
	return fc.oneof(
		{ weight: 120, arbitrary: valid },
		fc.constantFrom(
			null,
			undefined,
			min,
			max,
			min - 1,
			max + 0.5,
			-0,
			0.5,
			NaN,
			Infinity,
			-Infinity,
			2 ** 53,
			'12',
			'',
			true,
			[],
			{},
			f.categories?.[0]?.toUpperCase() ?? 'X'
		),
		fc.double(),
		fc.string({ maxLength: 8 })
	);
}

/** An applicant object: some features left out, some extra keys. */
function applicantOf(manifest: Manifest): fc.Arbitrary<Record<string, unknown>> {
	const fields = Object.fromEntries(manifest.features.map((f) => [f.name, featureValue(f)]));
	return fc
		.tuple(
			fc.record(fields, { requiredKeys: [] }),
			fc.record(fields),
			fc.dictionary(
				fc.constantFrom('extra', '__proto__', 'constructor', 'toString', 'Income'),
				fc.anything(),
				{
					maxKeys: 2
				}
			),
			fc.nat(9)
		)
		.map(([partial, full, extra, pick]) => (pick < 4 ? full : pick < 7 ? partial : { ...full, ...extra }));
}

describe('compileApplicantCheck', () => {
	const shipped = discoverBundles(path.join(REPO_ROOT, 'models'));

	it('should agree with the zod schema on every input, valid or not (tiny fixture and shipped models)', async () => {
		// Unbounded whole numbers too, where only the safe-integer rule stops 2^53.
		const unbounded = {
			...manifest,
			features: manifest.features.map((f) => (f.integer ? { ...f, range: null } : f))
		};
		const manifests = [manifest, unbounded, ...(await shipped).map((b) => b.manifest)];
		for (const m of manifests) {
			const schema = buildApplicantSchema(m);
			const check = compileApplicantCheck(m);
			let accepted = 0;
			fc.assert(
				fc.property(fc.oneof({ weight: 9, arbitrary: applicantOf(m) }, fc.anything()), (raw) => {
					const fast = check(raw);
					const slow = schema.safeParse(raw);
					expect(fast !== null).toBe(slow.success);
					if (fast !== null && slow.success) {
						accepted += 1;
						// Same values, same keys in the same order (the stored input is this object).
						expect(Object.entries(fast)).toStrictEqual(Object.entries(slow.data));
					}
				}),
				{ numRuns: 3000, seed: 20261124 }
			);
			// The generator must reach both verdicts, or the agreement says little.
			expect(accepted).toBeGreaterThan(300);
		}
	});

	it('should return every feature in manifest order, missing as null', () => {
		const check = compileApplicantCheck(manifest);
		const { income: _, ...rest } = valid;
		expect(Object.entries(check(rest) ?? {})).toStrictEqual(
			manifest.features.map((f) => [f.name, f.name === 'income' ? null : valid[f.name as keyof typeof valid]])
		);
		expect(check({ ...valid, age: 17 })).toBeNull();
		expect(check({ ...valid, extra: 1 })).toBeNull();
	});
});
