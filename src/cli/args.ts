/** Argument parsing and table output shared by CLI commands. */
import { parseArgs } from 'node:util';
import { UsageError } from './context';

export type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

/** Strict `parseArgs` whose complaints (unknown option, missing value) become usage errors. */
export function parseOptions<T extends OptionSpec>(args: string[], options: T) {
	try {
		return parseArgs({ args, options, allowPositionals: true, strict: true });
	} catch (error) {
		throw new UsageError(error instanceof Error ? error.message : String(error));
	}
}

/** The one positional argument called `what`. */
export function single(positionals: string[], what: string): string {
	if (positionals.length === 0) throw new UsageError(`${what} is required.`);
	if (positionals.length > 1) throw new UsageError(`Expected one ${what}, got ${positionals.length}.`);
	return positionals[0] as string;
}

/** Rows as left-aligned columns, the first row being the header. */
export function formatTable(rows: readonly (readonly string[])[]): string {
	const header = rows[0] ?? [];
	const widths = header.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
	return (
		rows
			.map((row) =>
				row
					.map((cell, column) => cell.padEnd(widths[column] ?? 0))
					.join('  ')
					.trimEnd()
			)
			.join('\n') + '\n'
	);
}
