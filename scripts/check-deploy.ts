/**
 * `npm run check:deploy`: what can be checked of `deploy/` and the Dockerfile without a container
 * engine, Helm or a cluster (the deploy workflow does the rest: build, `helm lint`, kubeconform, a
 * kind install). In order:
 *
 * 1. every JSON and YAML file under deploy/ parses (Helm templates excepted: they are Go templates);
 * 2. the dashboards use the provisioned datasources and unique ids, and every `credible_*` metric
 *    they or the alert rules name is one the application exports;
 * 3. the chart carries the same rules as deploy/prometheus/rules (scripts/sync-chart-rules.ts);
 * 4. values.schema.json accepts the chart's defaults and every example, and refuses a broken value;
 * 5. the Dockerfile follows our rules (scripts/deploy-checks/dockerfile.ts);
 * 6. the committed renders of the chart validate against the Kubernetes schemas, keep the
 *    rollout safe for the server's drain, carry the chart's rules, and back up with the CLI's
 *    `backup` (scripts/deploy-checks/kubernetes.ts);
 * 7. the compose file gives the app the same drain time;
 * 8. `promtool check config|rules` and `promtool test rules`, and `terraform fmt -check`, when
 *    those tools are installed (with CI set, promtool is required).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { lintDockerfile } from './deploy-checks/dockerfile';
import {
	checkBackupCronJob,
	checkPrometheusRule,
	checkRollout,
	readObjects,
	serverDrainSeconds,
	validateObjects
} from './deploy-checks/kubernetes';
import { checkChartValues } from './deploy-checks/values';
import { chartRuleDifferences } from './sync-chart-rules';

const CHART = 'deploy/helm/credible';
/** Where the metric names are defined. */
const METRIC_SOURCES = [
	'src/lib/server/observability/metrics.ts',
	'src/lib/server/observability/cumulative-histogram.ts'
];
const DATASOURCES = { prometheus: 'credible-prometheus', loki: 'credible-loki' } as const;

const problems: string[] = [];
const done: string[] = [];

function files(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const full = path.join(dir, name);
		return statSync(full).isDirectory() ? files(full) : [full];
	});
}

// 1. Every JSON and YAML file parses.
const parsed = new Map<string, unknown>();
for (const file of files('deploy')) {
	if (file.startsWith(`${CHART}/templates/`)) continue;
	const text = readFileSync(file, 'utf8');
	try {
		if (file.endsWith('.json')) parsed.set(file, JSON.parse(text));
		else if (/\.ya?ml$/.test(file)) {
			const documents = parseAllDocuments(text);
			const error = documents.flatMap((document) => document.errors)[0];
			if (error) throw new Error(error.message);
			parsed.set(
				file,
				documents.length === 1 ? documents[0]?.toJS() : documents.map((d) => d.toJS() as unknown)
			);
		}
	} catch (error) {
		problems.push(`${file}: ${(error as Error).message}`);
	}
}
done.push(`${parsed.size} JSON and YAML files parse`);

// 2. Dashboards and metric names.
interface Panel {
	id?: number;
	type?: string;
	title?: string;
	datasource?: { type?: string; uid?: string };
	targets?: { expr?: string; datasource?: { uid?: string } }[];
	panels?: Panel[];
}

function checkDashboard(
	file: string,
	dashboard: { uid?: string; title?: string; panels?: Panel[] },
	uids: Set<string>
): string[] {
	const exprs: string[] = [];
	if (!dashboard.uid || !dashboard.title || !Array.isArray(dashboard.panels)) {
		problems.push(`${file}: a dashboard needs uid, title and panels`);
		return exprs;
	}
	if (uids.has(dashboard.uid)) problems.push(`${file}: uid ${dashboard.uid} is used twice`);
	uids.add(dashboard.uid);
	const ids = new Set<number>();
	for (const panel of dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])) {
		if (panel.id === undefined || ids.has(panel.id))
			problems.push(`${file}: panel "${panel.title}" has a missing or repeated id`);
		else ids.add(panel.id);
		if (panel.type === 'row') continue;
		const kind = panel.datasource?.type === 'loki' ? 'loki' : 'prometheus';
		if (panel.datasource?.uid !== DATASOURCES[kind])
			problems.push(`${file}: panel "${panel.title}" does not use ${DATASOURCES[kind]}`);
		if (!panel.targets?.length) problems.push(`${file}: panel "${panel.title}" has no query`);
		for (const target of panel.targets ?? []) {
			if (!target.expr?.trim()) problems.push(`${file}: panel "${panel.title}" has an empty query`);
			else if (kind === 'prometheus') exprs.push(target.expr);
		}
	}
	return exprs;
}

const exported = new Set(
	METRIC_SOURCES.flatMap((file) =>
		[...readFileSync(file, 'utf8').matchAll(/'(credible_[a-z_]+)'/g)].map((m) => m[1])
	)
);
const referenced = new Map<string, string>();
const uids = new Set<string>();
for (const [file, value] of parsed) {
	if (file.startsWith('deploy/grafana/dashboards/')) {
		for (const expr of checkDashboard(file, value as Parameters<typeof checkDashboard>[1], uids))
			for (const [name] of expr.matchAll(/credible_[a-z_]+/g)) referenced.set(name, file);
	} else if (file.startsWith('deploy/prometheus/rules/')) {
		for (const [name] of readFileSync(file, 'utf8').matchAll(/credible_[a-z_]+/g)) referenced.set(name, file);
	}
}
for (const [name, file] of referenced) {
	const base = name.replace(/_(bucket|sum|count)$/, '');
	if (!exported.has(name) && !exported.has(base)) problems.push(`${file}: unknown metric ${name}`);
}
done.push(`${uids.size} dashboards; ${referenced.size} metric names, all exported`);

// 3. The chart's rules are deploy/prometheus's.
const ruleDifferences = chartRuleDifferences();
problems.push(...ruleDifferences.map((d) => `${d} (run \`npm run sync:chart-rules\`)`));
if (ruleDifferences.length === 0) done.push("the chart's rules match deploy/prometheus/rules");

// 4. values.schema.json: the defaults and examples pass; a grace period shorter than the drain,
// an unknown key and a secret among the plain variables do not.
const values = checkChartValues(CHART, [
	{ terminationGracePeriodSeconds: 5 },
	{ replicas: 3 },
	{ config: { JWT_SECRET: 'x' } }
]);
problems.push(...values.problems);
if (values.problems.length === 0)
	done.push(
		`values.schema.json accepts the defaults and ${values.examples} example(s), refuses broken values`
	);

// 5. The Dockerfile.
const dockerProblems = lintDockerfile('Dockerfile', 'scripts/image-steps.sh');
problems.push(...dockerProblems);
if (dockerProblems.length === 0)
	done.push('the Dockerfile follows our rules and the steps of scripts/image-steps.sh');

// 6. The committed renders.
const drain = serverDrainSeconds('server.js');
const chartRules = readdirSync(`${CHART}/files`)
	.filter((name) => name.endsWith('.rules.yml'))
	.map((name) => `${CHART}/files/${name}`);
let objects = 0;
for (const name of readdirSync(`${CHART}/rendered`).filter((n) => n.endsWith('.yaml'))) {
	const file = `${CHART}/rendered/${name}`;
	try {
		const rendered = readObjects(file);
		objects += rendered.length;
		problems.push(
			...(await validateObjects(file, rendered)),
			...checkRollout(file, rendered, drain),
			...checkPrometheusRule(file, rendered, chartRules),
			...checkBackupCronJob(file, rendered)
		);
	} catch (error) {
		problems.push((error as Error).message);
	}
}
done.push(
	`${objects} rendered Kubernetes objects validate; rollouts outlast the ${drain} s drain; rendered rules match files/`
);

// 7. Compose.
const compose = parsed.get('deploy/compose.yaml') as {
	services?: Record<string, { stop_grace_period?: string }>;
};
const grace = /^(\d+)s$/.exec(compose?.services?.app?.stop_grace_period ?? '')?.[1];
if (!grace || Number(grace) <= drain)
	problems.push(`deploy/compose.yaml: the app's stop_grace_period must exceed the ${drain} s drain`);

// 8. External tools, when present.
function tool(name: string): boolean {
	try {
		execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}
function run(command: string, args: string[]): void {
	try {
		execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
	} catch (error) {
		const failed = error as { stdout?: Buffer; stderr?: Buffer };
		problems.push(
			`${command} ${args.join(' ')}:\n${String(failed.stdout ?? '')}${String(failed.stderr ?? '')}`
		);
	}
}
const ruleFiles = (dir: string) =>
	readdirSync(dir)
		.filter((name) => /\.ya?ml$/.test(name))
		.map((name) => path.join(dir, name));
if (tool('promtool')) {
	run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
	run('promtool', [
		'check',
		'rules',
		...ruleFiles('deploy/prometheus/rules'),
		...ruleFiles(`${CHART}/files`)
	]);
	run('promtool', ['test', 'rules', ...ruleFiles('deploy/prometheus/tests')]);
	done.push('promtool: config, rules and rule tests');
} else if (process.env.CI) problems.push('promtool is required in CI (Debian package prometheus)');
else done.push('promtool not installed: skipped (apt-get install prometheus)');
if (tool('terraform')) {
	run('terraform', ['fmt', '-check', '-recursive', '-diff', 'deploy/terraform']);
	done.push('terraform fmt');
} else done.push('terraform not installed: fmt skipped');
if (!existsSync('deploy/terraform')) problems.push('deploy/terraform is missing');

if (problems.length > 0) {
	console.error(problems.map((p) => `✗ ${p}`).join('\n'));
	process.exit(1);
}
console.log(done.map((line) => `✓ ${line}`).join('\n'));
