/**
 * The checks behind `npm run check:deploy` pass on the repository's files and fail on broken
 * copies of them: a check that cannot fail would prove nothing about the chart or the image.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lintDockerfile } from '../../scripts/deploy-checks/dockerfile';
import {
	checkBackupCronJob,
	checkPrometheusRule,
	checkRollout,
	readObjects,
	renderDifferences,
	serverDrainSeconds,
	validateObjects,
	type KubeObject
} from '../../scripts/deploy-checks/kubernetes';
import { checkChartValues } from '../../scripts/deploy-checks/values';
import { chartRuleDifferences } from '../../scripts/sync-chart-rules';

const CHART = 'deploy/helm/credible';
const RENDERS = ['default', 'production'].map((name) => `${CHART}/rendered/${name}.yaml`);
const RULES = [`${CHART}/files/credible.rules.yml`];
const dir = mkdtempSync(path.join(tmpdir(), 'credible-deploy-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of `file` in the scratch folder, with each [from, to] replacement applied once. */
function brokenCopy(file: string, replacements: [string | RegExp, string][]): string {
	let text = readFileSync(file, 'utf8');
	for (const [from, to] of replacements) {
		const next = text.replace(from, to);
		expect(next, `the fixture no longer contains ${String(from)}`).not.toBe(text);
		text = next;
	}
	const copy = path.join(dir, `${Math.random().toString(36).slice(2)}-${path.basename(file)}`);
	writeFileSync(copy, text);
	return copy;
}

const deploymentOf = (objects: KubeObject[]) => {
	const deployment = objects.find((object) => object.kind === 'Deployment');
	if (!deployment) throw new Error('no Deployment in the render');
	return deployment;
};

describe('Dockerfile rules', () => {
	it('should pass the repository Dockerfile', () => {
		expect(lintDockerfile('Dockerfile', 'scripts/image-steps.sh')).toEqual([]);
	});

	it('should name a root user, a latest base, a missing healthcheck, a copy without owner and a baked secret', () => {
		const broken = brokenCopy('Dockerfile', [
			[/^ARG NODE_IMAGE=.*$/m, 'ARG NODE_IMAGE=node:latest'],
			[/^USER node$/m, 'USER root'],
			[/^HEALTHCHECK [\s\S]*?\n(?=#)/m, ''],
			['COPY --from=build --chown=root:root /app/server.js ./', 'COPY --from=build /app/server.js ./'],
			['ENV NODE_ENV=production', 'ENV JWT_SECRET=baked NODE_ENV=production']
		]);
		const problems = lintDockerfile(broken, 'scripts/image-steps.sh').join('\n');
		expect(problems).toMatch(/base image node:latest must have a pinned tag/);
		expect(problems).toMatch(/must end as a non-root USER/);
		expect(problems).toMatch(/needs a HEALTHCHECK/);
		expect(problems).toMatch(/COPY into the final stage needs --chown/);
		expect(problems).toMatch(/ENV JWT_SECRET looks like a secret/);
	});

	it('should notice when the Dockerfile and scripts/image-steps.sh number their steps differently', () => {
		const broken = brokenCopy('Dockerfile', [['# Step 7:', '# Step 8:']]);
		expect(lintDockerfile(broken, 'scripts/image-steps.sh').join('\n')).toMatch(/do not match/);
	});
});

describe('committed renders', () => {
	const drain = serverDrainSeconds('server.js');

	it("should read the server's drain limit from server.js", () => {
		expect(drain).toBe(25);
	});

	it.each(RENDERS)(
		'should validate %s against the Kubernetes schemas and keep the rollout safe',
		async (file) => {
			const objects = readObjects(file);
			expect(await validateObjects(file, objects)).toEqual([]);
			expect(checkRollout(file, objects, drain)).toEqual([]);
			expect(checkPrometheusRule(file, objects, RULES)).toEqual([]);
			expect(checkBackupCronJob(file, objects)).toEqual([]);
		}
	);

	it('should refuse a backup CronJob that does not run the backup command', () => {
		expect(readObjects(RENDERS[1]!).some((object) => object.kind === 'CronJob')).toBe(true);
		const broken = brokenCopy(RENDERS[1]!, [['node dist/credible.mjs backup', 'pg_dumpall >']]);
		expect(checkBackupCronJob(broken, readObjects(broken)).join('\n')).toMatch(
			/CronJob\/credible-backup does not run/
		);
	});

	it('should refuse an object that breaks its schema, or of an unknown kind', async () => {
		const broken = brokenCopy(RENDERS[1]!, [
			['containerPort: 9464', 'containerPort: metrics-port'],
			['pathType: Prefix', 'pathType: Sometimes'],
			['kind: PodDisruptionBudget', 'kind: PodDisruptionBudgett']
		]);
		const problems = (await validateObjects(broken, readObjects(broken))).join('\n');
		expect(problems).toMatch(/Deployment\/credible: .*containerPort must be integer/);
		expect(problems).toMatch(/Ingress\/credible: .*pathType/);
		expect(problems).toMatch(/no schema for policy\/v1 PodDisruptionBudgett/);
	});

	it('should refuse a rollout that can drop requests', () => {
		const broken = brokenCopy(RENDERS[0]!, [
			['maxUnavailable: 0', 'maxUnavailable: 1'],
			['terminationGracePeriodSeconds: 45', 'terminationGracePeriodSeconds: 30'],
			['path: /readyz', 'path: /healthz']
		]);
		const problems = checkRollout(broken, readObjects(broken), drain).join('\n');
		expect(problems).toMatch(/maxUnavailable must be 0/);
		expect(problems).toMatch(/terminationGracePeriodSeconds 30 must exceed preStop 10 s \+ drain 25 s/);
		expect(problems).toMatch(/readinessProbe must GET \/readyz/);
	});

	it('should notice a render whose alert rules differ from the chart files', () => {
		const broken = brokenCopy(RENDERS[1]!, [['for: 1m', 'for: 99m']]);
		expect(checkPrometheusRule(broken, readObjects(broken), RULES).join('\n')).toMatch(
			/in the rule files "1m", in the render "99m"/
		);
	});

	it('should compare renders object by object, ignoring comments and key order', () => {
		const objects = readObjects(RENDERS[0]!);
		expect(renderDifferences(objects, readObjects(RENDERS[0]!))).toEqual([]);
		const changed = structuredClone(objects);
		const deployment = deploymentOf(changed);
		(deployment.spec as { revisionHistoryLimit: number }).revisionHistoryLimit = 9;
		expect(renderDifferences(objects, changed)).toEqual([
			'apps/v1 Deployment/credible.spec.revisionHistoryLimit: committed 5, rendered 9'
		]);
		expect(renderDifferences(objects, changed.slice(1)).join('\n')).toMatch(/only in the committed render/);
	});
});

describe('values.schema.json', () => {
	it('should accept the defaults and the examples and refuse broken values', () => {
		const result = checkChartValues(CHART, [
			{ terminationGracePeriodSeconds: 5 },
			{ replicas: 3 },
			{ config: { JWT_SECRET: 'x' } },
			{ existingSecret: '' },
			{ ingress: { tls: { secretName: '' } } },
			{ backup: { enabled: true } },
			{ backup: { schedule: 'nightly' } }
		]);
		expect(result.problems).toEqual([]);
		expect(result.examples).toBeGreaterThan(0);
	});

	it('should report a broken example, and a broken value the schema lets through', () => {
		const chart = path.join(dir, 'chart');
		cpSync(CHART, chart, { recursive: true });
		writeFileSync(path.join(chart, 'examples', 'broken.yaml'), 'replicaCount: -1\nimage: { tag: 3 }\n');
		const { problems } = checkChartValues(chart, [{ podAnnotations: { a: 'b' } }]);
		expect(problems.join('\n')).toMatch(/broken\.yaml: \/replicaCount must be >= 1/);
		expect(problems.join('\n')).toMatch(/broken\.yaml: \/image\/tag must be string/);
		expect(problems.join('\n')).toMatch(/accepts \{"podAnnotations":\{"a":"b"\}\}/);
	});
});

describe("the chart's copy of the alert rules", () => {
	it('should match deploy/prometheus/rules', () => {
		expect(chartRuleDifferences()).toEqual([]);
	});

	it('should name a copy that differs', () => {
		const copies = path.join(dir, 'files');
		cpSync(`${CHART}/files`, copies, { recursive: true });
		writeFileSync(path.join(copies, 'credible.rules.yml'), '# edited by hand\n', { flag: 'a' });
		writeFileSync(path.join(copies, 'stale.rules.yml'), 'groups: []\n');
		expect(chartRuleDifferences('deploy/prometheus/rules', copies)).toEqual([
			`${copies}/credible.rules.yml differs from deploy/prometheus/rules/credible.rules.yml`,
			`${copies}/stale.rules.yml has no source in deploy/prometheus/rules`
		]);
	});
});
