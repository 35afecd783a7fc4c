/**
 * `npm run check:deploy`: the Grafana and Prometheus files in `deploy/` parse (JSON, YAML), the
 * dashboards use the provisioned datasources (Prometheus, and Loki for the logs) and unique ids, and every `credible_*` metric they or
 * the alert rules name is one the application exports. CI also runs `promtool check config`,
 * `promtool check rules` and `promtool test rules` (see .ci/run).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

const ROOTS = ['deploy/grafana', 'deploy/prometheus'];
/** Where the metric names are defined. */
const METRIC_SOURCES = [
	'src/lib/server/observability/metrics.ts',
	'src/lib/server/observability/cumulative-histogram.ts'
];
/** The provisioned datasources (deploy/grafana/provisioning/datasources), by type. */
const DATASOURCES: Record<string, string> = { prometheus: 'credible-prometheus', loki: 'credible-loki' };

const problems: string[] = [];

function files(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const full = path.join(dir, name);
		return statSync(full).isDirectory() ? files(full) : [full];
	});
}

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
		const type = panel.datasource?.type ?? 'prometheus';
		const expected = DATASOURCES[type];
		if (!expected || panel.datasource?.uid !== expected)
			problems.push(
				`${file}: panel "${panel.title}" does not use a provisioned datasource (${Object.values(DATASOURCES).join(', ')})`
			);
		if (!panel.targets?.length) problems.push(`${file}: panel "${panel.title}" has no query`);
		for (const target of panel.targets ?? []) {
			if (!target.expr?.trim()) problems.push(`${file}: panel "${panel.title}" has an empty query`);
			// Only PromQL names metrics; the logs panels' LogQL selects log lines.
			else if (type === 'prometheus') exprs.push(target.expr);
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

for (const file of ROOTS.flatMap(files)) {
	const text = readFileSync(file, 'utf8');
	let parsed: unknown;
	try {
		parsed = file.endsWith('.json') ? JSON.parse(text) : /\.ya?ml$/.test(file) ? parseYaml(text) : undefined;
	} catch (error) {
		problems.push(`${file}: ${(error as Error).message}`);
		continue;
	}
	if (parsed === undefined) continue;
	if (file.startsWith('deploy/grafana/dashboards/')) {
		for (const expr of checkDashboard(file, parsed as Parameters<typeof checkDashboard>[1], uids))
			for (const [name] of expr.matchAll(/credible_[a-z_]+/g)) referenced.set(name, file);
	} else if (file.startsWith('deploy/prometheus/rules/')) {
		for (const [name] of text.matchAll(/credible_[a-z_]+/g)) referenced.set(name, file);
	}
}

for (const [name, file] of referenced) {
	const base = name.replace(/_(bucket|sum|count)$/, '');
	if (!exported.has(name) && !exported.has(base)) problems.push(`${file}: unknown metric ${name}`);
}

if (problems.length > 0) {
	console.error(problems.map((p) => `✗ ${p}`).join('\n'));
	process.exit(1);
}
console.log(
	`deploy/: ${uids.size} dashboards and the Prometheus files parse; ${referenced.size} metric names are all exported.`
);
