/**
 * `npm run simulate -- --model lending-club --rate 200 --duration 60 --shift annual_inc:*0.7 --outcomes`
 *
 * Replays held-out rows of a shipped model through the scoring API of a running server as a
 * service account, with controlled shifts of chosen features, then (with --outcomes) reports
 * their real outcomes. Prints a summary. See docs/simulator.md.
 */
import { formatSummary, prepare, simulate } from './simulator/index';
import { parseCommandLine, USAGE } from './simulator/options';
import { ShiftError } from './simulator/shift';
import { httpTransport } from './simulator/traffic';

async function main(): Promise<number> {
	const argv = process.argv.slice(2);
	if (argv.includes('--help') || argv.includes('-h')) {
		process.stdout.write(USAGE);
		return 0;
	}
	const parsed = parseCommandLine(argv);
	if ('errors' in parsed) {
		process.stderr.write(`${parsed.errors.map((e) => `error: ${e}`).join('\n')}\n\n${USAGE}`);
		return 2;
	}
	let prepared;
	try {
		prepared = prepare(parsed.config);
	} catch (error) {
		if (error instanceof ShiftError) {
			process.stderr.write(`error: ${error.message}\n\n${USAGE}`);
			return 2;
		}
		throw error;
	}
	const { config, url } = parsed;
	const total = config.rows ?? Math.round(config.rate * config.duration);
	process.stdout.write(
		`simulating ${total} applicants of ${config.model} at ${config.rate}/s against ${url}` +
			`${config.shifts.length ? ` with ${config.shifts.join(', ')}` : ''}\n`
	);
	let lastReport = performance.now();
	const result = await simulate(config, httpTransport(url), prepared, (traffic) => {
		if (performance.now() - lastReport < 5000) return;
		lastReport = performance.now();
		process.stdout.write(`  ${traffic.requests} requests answered, ${traffic.ok} scored\n`);
	});
	process.stdout.write(formatSummary(result, config));
	return result.traffic.ok === result.traffic.sent ? 0 : 1;
}

main().then(
	(code) => process.exit(code),
	(error: unknown) => {
		process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
		process.exit(1);
	}
);
