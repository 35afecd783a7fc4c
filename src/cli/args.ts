/** Argument parsing and table output shared by CLI commands. */
import { parseArgs } from 'node:util';
import { UsageError, type CliContext } from './context';

/** One action of a command (`create`, `list`, …): returns the exit code. */
export type CliAction = (args: string[], context: CliContext) => Promise<number>;

/** Runs the action named by the first argument, or says which are known. */
export function runAction(
	actions: Record<string, CliAction>,
	args: string[],
	context: CliContext
): Promise<number> {
	const [action, ...rest] = args;
	const handler = action && Object.hasOwn(actions, action) ? actions[action] : undefined;
	if (!handler) {
		const known = Object.keys(actions).join(', ');
		throw new UsageError(
			action ? `Unknown action "${action}" (known: ${known}).` : `Name an action: ${known}.`
		);
	}
	return handler(rest, context);
}

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
