import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput } from '../errors';
import { loadTinyTrees } from '../test-fixtures/fixtures';
import { createEncoder, type Encoder } from './encoder';

let enc: Encoder;
beforeAll(async () => {
	enc = createEncoder((await loadTinyTrees()).manifest);
});

describe('createEncoder', () => {
	it('should encode passthrough, one-hot and ordinal features into their columns', () => {
		const row = new Float32Array(enc.columns);
		enc.encode({ income: 42000.5, purpose: 'home', grade: 'C', age: 33 }, row);
		expect([...row]).toEqual([42000.5, 0, 1, 0, 2, 33]);
	});

	it('should put NaN in every column of a missing feature, null or absent', () => {
		const row = new Float32Array(enc.columns);
		enc.encode({ income: null, grade: 'A', age: 20 }, row);
		expect(row.slice(0, 4).every(Number.isNaN)).toBe(true);
		expect([...row.slice(4)]).toEqual([0, 20]);
	});

	it('should round numbers to float32 like the training script', () => {
		const row = new Float32Array(enc.columns);
		enc.encode({ income: 13.99, purpose: 'car', grade: 'A', age: 30 }, row);
		expect(row[0]).toBe(Math.fround(13.99));
	});

	it('should write at an offset and encode many rows at once', () => {
		const rows = enc.encodeMany([
			{ income: 1, purpose: 'car', grade: 'A', age: 18 },
			{ income: 2, purpose: 'other', grade: 'B', age: 19 }
		]);
		expect(rows).toHaveLength(2 * enc.columns);
		expect([...rows.slice(enc.columns)]).toEqual([2, 0, 0, 1, 1, 19]);
	});

	it('should refuse an unknown category, naming the field', () => {
		const e = (() => {
			try {
				enc.encode({ income: 1, purpose: 'boat', grade: 'A', age: 30 }, new Float32Array(enc.columns));
			} catch (err) {
				return err;
			}
		})();
		expect(e).toBeInstanceOf(InvalidInput);
		expect(e).toMatchObject({ field: 'purpose', code: 'INVALID_INPUT' });
	});

	it('should refuse text where a number is expected', () => {
		expect(() =>
			enc.encode({ income: '12', purpose: 'car', grade: 'A', age: 30 }, new Float32Array(enc.columns))
		).toThrow(/income: expected a number/);
	});

	it('should decode an encoded row back to raw values', () => {
		const raw = { income: 1234, purpose: 'other', grade: 'B', age: 44 };
		const row = new Float32Array(enc.columns);
		enc.encode(raw, row);
		expect(enc.features.map((_, i) => enc.decode(row, 0, i))).toEqual([1234, 'other', 'B', 44]);
		enc.encode({ ...raw, purpose: null }, row);
		expect(enc.decode(row, 0, 1)).toBeNull();
	});
});
