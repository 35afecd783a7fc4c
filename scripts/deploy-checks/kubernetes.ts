/**
 * The committed renders of the Helm chart (`rendered/*.yaml`, compared with real `helm template`
 * by the deploy workflow): every object validates against its Kubernetes (or prometheus-operator)
 * schema through kubernetes-models, and the rollout settings hold what the server's drain needs.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export interface KubeObject {
	apiVersion: string;
	kind: string;
	metadata: { name: string; annotations?: Record<string, string> };
	spec?: Record<string, unknown>;
}

/** The objects of a multi-document YAML file; throws on a parse error. */
export function readObjects(file: string): KubeObject[] {
	return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((document) => {
		const [error] = document.errors;
		if (error) throw new Error(`${file}: ${error.message}`);
		const value = document.toJS() as KubeObject | null;
		return value ? [value] : [];
	});
}

/** The kubernetes-models module of an apiVersion and kind, e.g. `kubernetes-models/apps/v1/Deployment`. */
function modelModule(apiVersion: string, kind: string): string {
	if (apiVersion.startsWith('monitoring.coreos.com/'))
		return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
	return `kubernetes-models/${apiVersion}/${kind}`;
}

type Model = new (data: unknown) => { validate(): void };

/** Schema problems of each object, named by file, kind and name. */
export async function validateObjects(file: string, objects: KubeObject[]): Promise<string[]> {
	const problems: string[] = [];
	for (const object of objects) {
		const where = `${file}: ${object.kind}/${object.metadata?.name}`;
		let model: Model | undefined;
		try {
			const module = (await import(modelModule(object.apiVersion, object.kind))) as Record<string, Model>;
			model = module[object.kind];
		} catch {
			model = undefined;
		}
		if (!model) {
			problems.push(`${where}: no schema for ${object.apiVersion} ${object.kind}`);
			continue;
		}
		try {
			new model(object).validate();
		} catch (error) {
			problems.push(`${where}: ${(error as Error).message}`);
		}
	}
	return problems;
}

interface Container {
	name: string;
	startupProbe?: { httpGet?: { path?: string } };
	readinessProbe?: { httpGet?: { path?: string } };
	livenessProbe?: { httpGet?: { path?: string } };
	lifecycle?: { preStop?: { exec?: { command?: string[] } } };
}

/**
 * What a rollout without dropped requests needs: `maxUnavailable: 0`, probes on the health routes,
 * a preStop pause, and a grace period longer than that pause plus the server's own drain limit.
 */
export function checkRollout(file: string, objects: KubeObject[], drainSeconds: number): string[] {
	const problems: string[] = [];
	const deployments = objects.filter((object) => object.kind === 'Deployment');
	const [deployment] = deployments;
	if (!deployment || deployments.length !== 1)
		return [`${file}: expected one Deployment, found ${deployments.length}`];
	const spec = deployment.spec as {
		strategy?: { rollingUpdate?: { maxUnavailable?: unknown } };
		template: { spec: { terminationGracePeriodSeconds?: number; containers: Container[] } };
	};
	if (spec.strategy?.rollingUpdate?.maxUnavailable !== 0)
		problems.push(`${file}: the Deployment's rollingUpdate.maxUnavailable must be 0`);
	const [container] = spec.template.spec.containers;
	if (!container) return [`${file}: the Deployment has no container`];
	const probes: [keyof Container, string][] = [
		['startupProbe', '/healthz'],
		['readinessProbe', '/readyz'],
		['livenessProbe', '/healthz']
	];
	for (const [probe, path] of probes) {
		const actual = (container[probe] as { httpGet?: { path?: string } } | undefined)?.httpGet?.path;
		if (actual !== path) problems.push(`${file}: ${probe} must GET ${path} (has ${actual})`);
	}
	const command = container.lifecycle?.preStop?.exec?.command ?? [];
	const pause = command[0] === 'sleep' ? Number(command[1]) : NaN;
	const grace = spec.template.spec.terminationGracePeriodSeconds ?? 30;
	if (!Number.isFinite(pause)) problems.push(`${file}: the container needs a preStop sleep`);
	else if (grace <= pause + drainSeconds)
		problems.push(
			`${file}: terminationGracePeriodSeconds ${grace} must exceed preStop ${pause} s + drain ${drainSeconds} s`
		);
	for (const kind of ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'Service'])
		if (!objects.some((object) => object.kind === kind)) problems.push(`${file}: no ${kind}`);
	const job = objects.find((object) => object.kind === 'Job');
	if (!job?.metadata.annotations?.['helm.sh/hook']?.includes('pre-upgrade'))
		problems.push(`${file}: no migration Job hook (pre-install, pre-upgrade)`);
	return problems;
}

/** The server's drain limit: the forced exit of `shutdown()` in server.js, in seconds. */
export function serverDrainSeconds(serverFile: string): number {
	const match = /setTimeout\(\(\) => process\.exit\(1\), ([\d_]+)\)/.exec(readFileSync(serverFile, 'utf8'));
	if (!match?.[1]) throw new Error(`${serverFile}: the forced exit of the drain was not found`);
	return Number(match[1].replaceAll('_', '')) / 1000;
}

const keyOf = (object: KubeObject) => `${object.apiVersion} ${object.kind}/${object.metadata?.name}`;

/**
 * How two renders differ, object by object (parsed, so comments, key order and quoting do not
 * count); empty when they hold the same objects.
 */
export function renderDifferences(expected: KubeObject[], actual: KubeObject[]): string[] {
	const differences: string[] = [];
	const theirs = new Map(actual.map((object) => [keyOf(object), object]));
	for (const object of expected) {
		const key = keyOf(object);
		const other = theirs.get(key);
		theirs.delete(key);
		if (!other) differences.push(`${key}: only in the committed render`);
		else differences.push(...diff(object, other, key));
	}
	for (const key of theirs.keys()) differences.push(`${key}: only in helm template's output`);
	return differences;
}

/** Where two parsed values differ, path by path; `names` say what `a` and `b` are. */
function diff(
	a: unknown,
	b: unknown,
	at: string,
	names: [string, string] = ['committed', 'rendered']
): string[] {
	if (Array.isArray(a) && Array.isArray(b)) {
		if (a.length !== b.length) return [`${at}: ${a.length} items ${names[0]}, ${b.length} ${names[1]}`];
		return a.flatMap((item, index) => diff(item, b[index], `${at}[${index}]`, names));
	}
	if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
		const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
		return [...keys].flatMap((key) =>
			diff((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${at}.${key}`, names)
		);
	}
	return a === b ? [] : [`${at}: ${names[0]} ${JSON.stringify(a)}, ${names[1]} ${JSON.stringify(b)}`];
}

/**
 * A render's PrometheusRule must carry exactly the groups of the chart's rule files (in file-name
 * order, as Helm's `.Files.Glob` ranges), so that the committed render cannot fall behind the rules.
 */
export function checkPrometheusRule(file: string, objects: KubeObject[], ruleFiles: string[]): string[] {
	const rule = objects.find((object) => object.kind === 'PrometheusRule');
	if (!rule) return [];
	const expected = [...ruleFiles]
		.sort()
		.flatMap(
			(path) =>
				(parseAllDocuments(readFileSync(path, 'utf8'))[0]?.toJS() as { groups?: unknown[] }).groups ?? []
		);
	const actual = (rule.spec as { groups?: unknown[] } | undefined)?.groups ?? [];
	return diff(expected, actual, `${file}: PrometheusRule/${rule.metadata.name} spec.groups`, [
		'in the rule files',
		'in the render'
	]);
}

/** A backup CronJob in a render must run the CLI's `backup` command, the one the runbook restores. */
export function checkBackupCronJob(file: string, objects: KubeObject[]): string[] {
	const problems: string[] = [];
	for (const cron of objects.filter((object) => object.kind === 'CronJob')) {
		const spec = cron.spec as {
			jobTemplate?: { spec?: { template?: { spec?: { containers?: { command?: string[] }[] } } } };
		};
		const command = (spec.jobTemplate?.spec?.template?.spec?.containers?.[0]?.command ?? []).join(' ');
		if (!/\bnode dist\/credible\.mjs backup\b/.test(command))
			problems.push(`${file}: CronJob/${cron.metadata.name} does not run \`node dist/credible.mjs backup\``);
	}
	return problems;
}
