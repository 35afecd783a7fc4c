/**
 * The operator's command line: `npm run credible -- <command> …` (tsx, no build step). It opens
 * the database the server uses, as configured by the same environment variables.
 */
import { fileURLToPath } from 'node:url';
import { ValidationFailed, DomainError } from '../lib/server/errors';
import { InvalidEnvironmentError } from '../lib/server/env';
import { commands } from './commands/index';
import { createCliContext, UsageError, type Output } from './context';

const overview = () =>
	[
		'Usage: npm run credible -- <command> [arguments] (add --help to a command for its usage)',
		'',
		'Commands:',
		...commands.map((command) => `  ${command.name.padEnd(18)}${command.summary}`),
		''
	].join('\n');

/** Runs one command line; resolves to the process exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: string[], stdout: Output = process.stdout, stderr: Output = process.stderr) {
	const [name, ...args] = argv;
	if (!name || name === '--help' || name === '-h' || name === 'help') {
		(name ? stdout : stderr).write(overview());
		return name ? 0 : 2;
	}
	const command = commands.find((candidate) => candidate.name === name);
	if (!command) {
		stderr.write(`Unknown command "${name}".\n\n${overview()}`);
		return 2;
	}
	if (args.includes('--help') || args.includes('-h')) {
		stdout.write(`${command.usage}\n`);
		return 0;
	}
	const context = createCliContext(stdout, stderr);
	try {
		return await command.run(args, context);
	} catch (error) {
		return report(error, command.usage, stderr);
	} finally {
		await context.close();
	}
}

/** Explains a failure in words; a stack trace only with DEBUG set, for whoever is debugging. */
function report(error: unknown, usage: string, stderr: Output): number {
	if (error instanceof UsageError) {
		stderr.write(`error: ${error.message}\n\n${usage}\n`);
		return 2;
	}
	if (error instanceof ValidationFailed) {
		const lines = Object.entries(error.fieldErrors).map(
			([field, messages]) => `  ${field}: ${messages.join('; ')}`
		);
		stderr.write(`error: ${error.message}\n${lines.join('\n')}\n`);
		return 1;
	}
	if (error instanceof DomainError || error instanceof InvalidEnvironmentError) {
		stderr.write(`error: ${error.message}\n`);
		return 1;
	}
	const message = error instanceof Error ? error.message : String(error);
	stderr.write(`error: ${message}\n`);
	if (process.env.DEBUG && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
	return 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	process.exitCode = await main(process.argv.slice(2));
}
