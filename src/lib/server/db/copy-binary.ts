/**
 * Rows in the binary format of `COPY … FROM STDIN (FORMAT binary)`: each value as PostgreSQL's
 * own `…_recv` reads it, so that neither side turns numbers, timestamps, UUIDs or bytes into text
 * and back. For the prediction writer, against text COPY, it took about a quarter off PostgreSQL's
 * CPU per row and most of the service's cost of building the data (docs/performance.md): no number
 * formatting, no escaping of tabs and backslashes, no hex for `bytea`.
 *
 * The format: an 11-byte signature, two 32-bit header fields, then per row a 16-bit field count
 * and per field a 32-bit length (-1 for NULL) and the value's bytes, and -1 as the trailer. All
 * integers are big-endian.
 */
import type { PgColumn } from 'drizzle-orm/pg-core';

/** How a column's values are sent; see {@link columnKind}. */
export type ColumnKind = 'uuid' | 'timestamptz' | 'text' | 'json' | 'float8' | 'float4' | 'int4' | 'bytea';

/**
 * The binary form of a Drizzle column. Enums travel as their label's text, `json` as its text
 * (`jsonb` would need a version byte: it is refused here rather than sent wrong). A column type
 * this module does not know throws, so that a schema change cannot silently write garbage.
 */
export function columnKind(column: PgColumn): ColumnKind {
	switch (column.columnType) {
		case 'PgUUID':
			return 'uuid';
		case 'PgText':
		case 'PgEnumColumn':
			return 'text';
		case 'PgJson':
			return 'json';
		case 'PgDoublePrecision':
			return 'float8';
		case 'PgReal':
			return 'float4';
		case 'PgInteger':
			return 'int4';
		case 'PgTimestamp':
			if (column.getSQLType() === 'timestamp with time zone') return 'timestamptz';
			break;
		case 'PgCustomColumn':
			if (column.getSQLType() === 'bytea') return 'bytea';
			break;
	}
	throw new TypeError(`column ${column.name}: no binary COPY encoding for ${column.getSQLType()}`);
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC). */
const POSTGRES_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

/** Hex digit value by character code, -1 where it is not one. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

/** Builds one COPY's data for rows whose columns are of the given kinds, in that order. */
export class BinaryCopyEncoder {
	readonly #kinds: readonly ColumnKind[];
	/** Per text column, the last value and its encoded bytes: most repeat from row to row. */
	readonly #lastText: (string | undefined)[];
	readonly #lastBytes: (Buffer | undefined)[];

	constructor(kinds: readonly ColumnKind[]) {
		this.#kinds = kinds;
		this.#lastText = kinds.map(() => undefined);
		this.#lastBytes = kinds.map(() => undefined);
	}

	/**
	 * The COPY data of `rows`; `cell(row, i)` gives a row's value for column i. NULL for null or
	 * undefined, and for a number that is not finite (as the text paths do, so that a NOT NULL
	 * column refuses it). A value the column cannot take (an integer column given 1.5, a UUID
	 * that is not one) throws a TypeError: the rows are not sent.
	 */
	encode<Row>(rows: readonly Row[], cell: (row: Row, column: number) => unknown, sizeHint = 512): Buffer {
		const out = new Output(21 + rows.length * sizeHint);
		out.bytes(SIGNATURE);
		out.int32(0);
		out.int32(0);
		const kinds = this.#kinds;
		const n = kinds.length;
		for (const row of rows) {
			out.ensure(2 + n * 4);
			out.int16(n);
			for (let i = 0; i < n; i++) this.#field(out, kinds[i]!, i, cell(row, i));
		}
		out.ensure(2);
		out.int16(-1);
		return out.done();
	}

	#field(out: Output, kind: ColumnKind, column: number, value: unknown): void {
		if (value === null || value === undefined) return out.int32(-1);
		switch (kind) {
			case 'text':
				if (typeof value !== 'string') throw new TypeError(`column ${column}: expected a string`);
				return this.#text(out, column, value);
			case 'json':
				return out.text(JSON.stringify(value));
			case 'float8':
				if (typeof value !== 'number') throw new TypeError(`column ${column}: expected a number`);
				if (!Number.isFinite(value)) return out.int32(-1);
				out.ensure(12);
				out.int32(8);
				return out.float64(value);
			case 'float4':
				if (typeof value !== 'number') throw new TypeError(`column ${column}: expected a number`);
				if (!Number.isFinite(value)) return out.int32(-1);
				out.ensure(8);
				out.int32(4);
				return out.float32(value);
			case 'int4':
				if (!Number.isInteger(value) || (value as number) < -TWO_32 / 2 || (value as number) >= TWO_32 / 2) {
					if (typeof value === 'number' && !Number.isFinite(value)) return out.int32(-1);
					throw new TypeError(`column ${column}: expected a 32-bit integer`);
				}
				out.ensure(8);
				out.int32(4);
				return out.int32(value as number);
			case 'uuid':
				if (typeof value !== 'string') throw new TypeError(`column ${column}: expected a UUID`);
				return out.uuid(value, column);
			case 'timestamptz': {
				const ms = value instanceof Date ? value.getTime() : NaN;
				if (!Number.isFinite(ms)) throw new TypeError(`column ${column}: expected a valid Date`);
				out.ensure(12);
				out.int32(8);
				return out.int64((ms - POSTGRES_EPOCH_MS) * 1000);
			}
			case 'bytea':
				if (!(value instanceof Uint8Array)) throw new TypeError(`column ${column}: expected bytes`);
				out.ensure(4 + value.byteLength);
				out.int32(value.byteLength);
				return out.bytes(value);
		}
	}

	#text(out: Output, column: number, value: string): void {
		let bytes = this.#lastBytes[column];
		if (this.#lastText[column] !== value || bytes === undefined) {
			bytes = Buffer.from(value, 'utf8');
			this.#lastText[column] = value;
			this.#lastBytes[column] = bytes;
		}
		out.ensure(4 + bytes.length);
		out.int32(bytes.length);
		out.bytes(bytes);
	}
}

/** A growing buffer; `ensure` before each fixed-size write. */
class Output {
	#buf: Buffer;
	#at = 0;

	constructor(size: number) {
		this.#buf = Buffer.allocUnsafe(size);
	}

	ensure(n: number): void {
		if (this.#at + n <= this.#buf.length) return;
		const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + n));
		this.#buf.copy(bigger, 0, 0, this.#at);
		this.#buf = bigger;
	}

	int16(v: number): void {
		this.#at = this.#buf.writeInt16BE(v, this.#at);
	}

	int32(v: number): void {
		this.#at = this.#buf.writeInt32BE(v, this.#at);
	}

	/** A whole number of microseconds, |v| < 2^53, as a 64-bit integer without a BigInt. */
	int64(v: number): void {
		const high = Math.floor(v / TWO_32);
		this.#at = this.#buf.writeInt32BE(high, this.#at);
		this.#at = this.#buf.writeUInt32BE(v - high * TWO_32, this.#at);
	}

	float64(v: number): void {
		this.#at = this.#buf.writeDoubleBE(v, this.#at);
	}

	float32(v: number): void {
		this.#at = this.#buf.writeFloatBE(v, this.#at);
	}

	bytes(b: Uint8Array): void {
		const n = b.byteLength;
		if (n > 48) {
			this.#buf.set(b, this.#at);
			this.#at += n;
			return;
		}
		// A loop beats `set`'s fixed cost on the short strings and keys that most values are.
		const buf = this.#buf;
		let at = this.#at;
		for (let i = 0; i < n; i++) buf[at++] = b[i]!;
		this.#at = at;
	}

	/** A length-prefixed UTF-8 string. */
	text(s: string): void {
		// UTF-8 takes at most three bytes per UTF-16 unit.
		this.ensure(4 + s.length * 3);
		const length = this.#buf.write(s, this.#at + 4, 'utf8');
		this.#at = this.#buf.writeInt32BE(length, this.#at);
		this.#at += length;
	}

	/** 36 characters with hyphens (or 32 without) as 16 bytes; anything else throws. */
	uuid(s: string, column: number): void {
		this.ensure(20);
		this.#at = this.#buf.writeInt32BE(16, this.#at);
		const buf = this.#buf;
		let at = this.#at;
		let i = 0;
		for (let k = 0; k < 16; k++) {
			if (s.length === 36 && (i === 8 || i === 13 || i === 18 || i === 23)) {
				if (s.charCodeAt(i) !== 45) break;
				i++;
			}
			const hi = HEX[s.charCodeAt(i)] ?? -1;
			const lo = HEX[s.charCodeAt(i + 1)] ?? -1;
			if (hi < 0 || lo < 0) break;
			buf[at++] = (hi << 4) | lo;
			i += 2;
		}
		if (at !== this.#at + 16 || i !== s.length) throw new TypeError(`column ${column}: expected a UUID`);
		this.#at = at;
	}

	done(): Buffer {
		return this.#buf.subarray(0, this.#at);
	}
}
