import { readFileSync } from 'node:fs';
import type { GoldenRow } from '$inference/manifest';

/** The golden rows of a shipped bundle: real applicants with the training library's answers. */
export function goldenRows(bundle: string): GoldenRow[] {
	return readFileSync(`models/${bundle}/golden.jsonl`, 'utf8')
		.trim()
		.split('\n')
		.map((line) => JSON.parse(line) as GoldenRow);
}
