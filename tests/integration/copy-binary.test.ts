import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTableColumns, sql } from 'drizzle-orm';
import {
	boolean,
	customType,
	doublePrecision,
	integer,
	json,
	jsonb,
	pgEnum,
	pgTable,
	real,
	text,
	timestamp,
	uuid
} from 'drizzle-orm/pg-core';
import { rowsOf } from '$lib/server/db';
import { BinaryCopyEncoder, columnKind } from '$lib/server/db/copy-binary';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';

const bytea = customType<{ data: Uint8Array }>({ dataType: () => 'bytea' });
const mood = pgEnum('copy_mood', ['calm', 'tense']);
const sample = pgTable('copy_sample', {
	u: uuid('u'),
	t: timestamp('t', { withTimezone: true }),
	s: text('s'),
	e: mood('e'),
	j: json('j'),
	d: doublePrecision('d'),
	r: real('r'),
	i: integer('i'),
	b: bytea('b')
});
const columns = Object.values(getTableColumns(sample));
const encoder = new BinaryCopyEncoder(columns.map(columnKind));
const keys = Object.keys(getTableColumns(sample));
type Row = Partial<Record<(typeof keys)[number], unknown>>;
const encode = (rows: Row[]) => encoder.encode(rows, (row, i) => row[keys[i] ?? '']);

describe('binary COPY encoding', () => {
	it('should know each column type the prediction table uses, and refuse the others', () => {
		expect(columns.map(columnKind)).toEqual([
			'uuid',
			'timestamptz',
			'text',
			'text',
			'json',
			'float8',
			'float4',
			'int4',
			'bytea'
		]);
		const other = pgTable('other', { j: jsonb('j'), f: boolean('f'), t: timestamp('t') });
		for (const column of Object.values(getTableColumns(other)))
			expect(() => columnKind(column)).toThrow(TypeError);
	});

	it('should refuse a value its column cannot take instead of sending it', () => {
		for (const row of [
			{ i: 1.5 },
			{ i: 2 ** 31 },
			{ i: -(2 ** 31) - 1 },
			{ i: '1' },
			{ u: 'not-a-uuid' },
			{ u: '0190c5a2-7b1e-4c3d-8e9f-0a1b2c3d4e5' },
			{ u: '0190c5a2x7b1e-4c3d-8e9f-0a1b2c3d4e5f' },
			{ t: new Date(NaN) },
			{ t: '2026-01-01' },
			{ s: 42 },
			{ d: '0.5' },
			{ b: [1, 2] }
		]) {
			expect(() => encode([row]), JSON.stringify(row)).toThrow(TypeError);
		}
	});

	it('should frame rows as PostgreSQL reads them: signature, field counts, lengths, trailer', () => {
		const data = encode([{}, { i: 7 }]);
		expect(data.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
		expect(data.readInt16BE(19)).toBe(columns.length);
		// Every field of the first row is NULL (-1), then the second row, then -1.
		expect(data.readInt32BE(21)).toBe(-1);
		expect(data.readInt16BE(data.length - 2)).toBe(-1);
		expect(data.length).toBe(19 + 2 * (2 + columns.length * 4) + 4 + 2);
	});
});

describe.skipIf(!testDatabaseKinds().includes('postgres'))('binary COPY into PostgreSQL', () => {
	let database: TestDatabase;

	beforeAll(async () => {
		database = await openTestDatabase('postgres');
		await database.db.execute(sql`create type copy_mood as enum ('calm', 'tense')`);
		await database.db.execute(sql`create table copy_sample (
			n serial, u uuid, t timestamptz, s text, e copy_mood, j json, d float8, r real, i integer, b bytea)`);
	});
	afterAll(async () => {
		await database?.dispose();
	});

	const statement = `copy copy_sample (${columns.map((c) => c.name).join(', ')}) from stdin (format binary)`;

	async function roundTrip(rows: Row[]): Promise<Record<string, string | null>[]> {
		const copyIn = database.copyIn;
		if (!copyIn) throw new Error('the test database has no COPY');
		await database.db.execute(sql`truncate copy_sample restart identity`);
		await copyIn.copyIn(statement, encode(rows));
		const result = await database.db.execute(
			sql`select u::text, to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as t, s, e::text,
				j::text, d::text, r::text, i::text, encode(b, 'hex') as b from copy_sample order by n`
		);
		return rowsOf<Record<string, string | null>>(result);
	}

	it('should store every kind of value exactly as the text forms would', async () => {
		const awkward = 'tab\there\nnew line\r\\N back\\slash "quoted" é😀';
		const stored = await roundTrip([
			{
				u: '0190C5A2-7B1E-4C3D-8E9F-0A1B2C3D4E5F',
				t: new Date('2026-11-24T17:30:01.234Z'),
				s: awkward,
				e: 'tense',
				j: { text: awkward, n: 0.1 + 0.2, list: [1, null, true] },
				d: 0.1 + 0.2,
				r: 0.1,
				i: -(2 ** 31),
				b: Uint8Array.from([0, 255, 92, 9, 10])
			},
			{
				u: '0190c5a27b1e4c3d8e9f0a1b2c3d4e5f',
				t: new Date('1969-07-20T20:17:40.001Z'),
				s: '',
				e: 'calm',
				j: 'a JSON string',
				d: -0,
				r: -3.4028234663852886e38,
				i: 2 ** 31 - 1,
				b: new Uint8Array(0)
			},
			{ d: Number.NaN, r: Number.POSITIVE_INFINITY, i: Number.NEGATIVE_INFINITY, s: null, j: undefined }
		]);
		expect(stored).toEqual([
			{
				u: '0190c5a2-7b1e-4c3d-8e9f-0a1b2c3d4e5f',
				t: '2026-11-24T17:30:01.234000',
				s: awkward,
				e: 'tense',
				j: JSON.stringify({ text: awkward, n: 0.1 + 0.2, list: [1, null, true] }),
				// PostgreSQL prints the shortest text that reads back as the same float8 / float4.
				d: '0.30000000000000004',
				r: '0.1',
				i: String(-(2 ** 31)),
				b: '00ff5c090a'
			},
			{
				u: '0190c5a2-7b1e-4c3d-8e9f-0a1b2c3d4e5f',
				t: '1969-07-20T20:17:40.001000',
				s: '',
				e: 'calm',
				j: '"a JSON string"',
				d: '-0',
				r: '-3.4028235e+38',
				i: String(2 ** 31 - 1),
				b: ''
			},
			// Numbers that are not finite are NULL, as on the text paths.
			{ u: null, t: null, s: null, e: null, j: null, d: null, r: null, i: null, b: null }
		]);
	});

	it('should let PostgreSQL refuse what only it can check, and report it', async () => {
		const copyIn = database.copyIn;
		if (!copyIn) throw new Error('the test database has no COPY');
		await expect(copyIn.copyIn(statement, encode([{ e: 'furious' }]))).rejects.toThrow(/copy_mood/);
		await expect(copyIn.copyIn(statement, encode([{ s: 'nul \0 byte' }]))).rejects.toThrow(/0x00/);
	});
});
