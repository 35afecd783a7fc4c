import type { CliContext } from '../context';

/** One top-level command of `npm run credible -- <name> …`, listed in `commands/index.ts`. */
export interface CliCommand {
	/** The first word on the command line, e.g. `service-account`. */
	name: string;
	/** One line for the overview. */
	summary: string;
	/** Full usage text, printed by `--help` and after a usage error. */
	usage: string;
	/** Runs with the words after `name`; resolves to the exit code. Throw `UsageError` for bad usage. */
	run(args: string[], context: CliContext): Promise<number>;
}
