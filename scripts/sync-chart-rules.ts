/**
 * `npm run sync:chart-rules`: copies the Prometheus rules of `deploy/prometheus/rules/` into the
 * Helm chart's `files/`, from which its PrometheusRule is generated, so that Kubernetes and the
 * compose stack alert on the same rules. `--check` changes nothing and exits 1 when the copies
 * differ (`npm run check:deploy` runs it that way).
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RULES_DIR = 'deploy/prometheus/rules';
export const CHART_FILES_DIR = 'deploy/helm/credible/files';
const RULE_FILE = /\.rules\.yml$/;

const ruleFiles = (dir: string) =>
	existsSync(dir)
		? readdirSync(dir)
				.filter((name) => RULE_FILE.test(name))
				.sort()
		: [];

/** The differences between the rules and the chart's copies, as sentences; empty when in sync. */
export function chartRuleDifferences(rulesDir = RULES_DIR, copiesDir = CHART_FILES_DIR): string[] {
	const sources = ruleFiles(rulesDir);
	const copies = new Set(ruleFiles(copiesDir));
	const differences: string[] = [];
	for (const name of sources) {
		const copy = path.join(copiesDir, name);
		if (!copies.delete(name)) differences.push(`${copy} is missing`);
		else if (readFileSync(copy, 'utf8') !== readFileSync(path.join(rulesDir, name), 'utf8'))
			differences.push(`${copy} differs from ${path.join(rulesDir, name)}`);
	}
	for (const name of copies) differences.push(`${path.join(copiesDir, name)} has no source in ${rulesDir}`);
	return differences;
}

function sync(): void {
	const sources = ruleFiles(RULES_DIR);
	for (const name of ruleFiles(CHART_FILES_DIR))
		if (!sources.includes(name)) rmSync(path.join(CHART_FILES_DIR, name));
	for (const name of sources) copyFileSync(path.join(RULES_DIR, name), path.join(CHART_FILES_DIR, name));
	console.log(`${CHART_FILES_DIR}: ${sources.length} rule file(s) copied from ${RULES_DIR}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
	if (process.argv.includes('--check')) {
		const differences = chartRuleDifferences();
		if (differences.length > 0) {
			console.error(`${differences.map((d) => `✗ ${d}`).join('\n')}\nRun \`npm run sync:chart-rules\`.`);
			process.exit(1);
		}
		console.log(`${CHART_FILES_DIR}: the chart's rules match ${RULES_DIR}`);
	} else sync();
}
