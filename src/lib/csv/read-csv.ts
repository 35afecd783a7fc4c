/**
 * Reading a CSV file in the browser with papaparse (chunked, so a large file never freezes the
 * page) and cutting its rows into request-sized chunks: shared by the batch and outcome uploads.
 * No DOM here.
 */
import Papa from 'papaparse';

export interface CsvFile {
	columns: string[];
	/** Data rows (cells as text); row n of the messages is rows[n - 1]. */
	rows: string[][];
}

export type ReadOutcome = { ok: true; file: CsvFile } | { ok: false; message: string };

/** Reads a CSV file; refuses files over the limits with a message a person can act on. */
export function readCsv(file: File, limits: { rows: number; bytes: number }): Promise<ReadOutcome> {
	if (file.size > limits.bytes) {
		return Promise.resolve({
			ok: false,
			message: `This file is ${megabytes(file.size)}; the portal reads files up to ${megabytes(limits.bytes)}. Split it, or use the API.`
		});
	}
	return new Promise((resolve) => {
		let header: string[] | null = null;
		const rows: string[][] = [];
		let tooMany = false;
		Papa.parse<string[]>(file, {
			skipEmptyLines: 'greedy',
			// Small chunks: the page stays responsive while a big file is read.
			chunkSize: 256 * 1024,
			chunk: (results, parser) => {
				for (const row of results.data) {
					if (header === null) header = row.map((cell) => cell.replace(/^\uFEFF/, '').trim());
					else rows.push(row);
				}
				if (rows.length > limits.rows) {
					tooMany = true;
					parser.abort();
				}
			},
			complete: () => {
				if (tooMany)
					resolve({
						ok: false,
						message: `This file has more than ${limits.rows.toLocaleString('en')} rows; the portal reads up to ${limits.rows.toLocaleString('en')} rows per file. Split it, or use the API.`
					});
				else if (header === null || header.length === 0)
					resolve({ ok: false, message: 'The file is empty: it needs a header line and at least one row.' });
				else if (rows.length === 0) resolve({ ok: false, message: 'The file has a header but no rows.' });
				else resolve({ ok: true, file: { columns: header, rows } });
			},
			error: (error) => resolve({ ok: false, message: `The file could not be read: ${error.message}` })
		});
	});
}

/** Splits items into runs of at most `size`, keeping each item's 1-based position. */
export function chunked<T>(items: readonly T[], size: number): { firstRow: number; items: T[] }[] {
	const out: { firstRow: number; items: T[] }[] = [];
	for (let i = 0; i < items.length; i += size) out.push({ firstRow: i + 1, items: items.slice(i, i + size) });
	return out;
}

function megabytes(bytes: number): string {
	return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
