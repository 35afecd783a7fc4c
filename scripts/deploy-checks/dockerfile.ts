/**
 * Our Dockerfile rules, checked on the parsed file (dockerfile-ast): pinned base images, a non-root
 * final user, a HEALTHCHECK, an explicit owner on every file copied into the final stage, no secret
 * baked into ENV or ARG, and the same numbered steps as scripts/image-steps.sh.
 */
import { readFileSync } from 'node:fs';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|API_?KEY|ENCRYPTION_KEY|CREDENTIAL)/i;

/** Problems of the Dockerfile at `file`, compared with the numbered steps of `stepsScript`. */
export function lintDockerfile(file: string, stepsScript: string): string[] {
	const text = readFileSync(file, 'utf8');
	const dockerfile = DockerfileParser.parse(text);
	const problems: string[] = [];
	const args = new Map(
		dockerfile
			.getInitialARGs()
			.map((arg) => [arg.getProperty()?.getName() ?? '', arg.getProperty()?.getValue() ?? ''])
	);
	const stages = new Set<string>();
	const checked = new Set<string>();
	for (const from of dockerfile.getFROMs()) {
		const image = ((from.getArgumentsContent() ?? '').split(/\s+/)[0] ?? '').replace(
			/\$\{?(\w+)\}?/g,
			(_, name: string) => args.get(name) ?? ''
		);
		const stage = from.getBuildStage();
		if (stages.has(image) || checked.has(image)) continue; // an earlier stage, or already checked
		checked.add(image);
		if (stage) stages.add(stage);
		const [, tag] = /^[^@]+?(?::([^:/@]+))?(@sha256:[0-9a-f]{64})?$/.exec(image) ?? [];
		if (!image) problems.push(`${file}: a FROM names no image`);
		else if (!image.includes('@sha256:') && (!tag || tag === 'latest'))
			problems.push(`${file}: base image ${image} must have a pinned tag (not latest) or a digest`);
	}
	const last = dockerfile.getFROMs().at(-1);
	const finalStage = dockerfile
		.getInstructions()
		.filter((instruction) => last && instruction.getRange().start.line > last.getRange().start.line);
	const users = finalStage.filter((i) => i.getKeyword() === 'USER');
	const user = users.at(-1)?.getArgumentsContent()?.split(':')[0];
	if (!user || user === 'root' || user === '0')
		problems.push(`${file}: the final stage must end as a non-root USER`);
	const healthcheck = finalStage.find((i) => i.getKeyword() === 'HEALTHCHECK');
	if (!healthcheck || /^NONE\b/i.test(healthcheck.getArgumentsContent() ?? ''))
		problems.push(`${file}: the final stage needs a HEALTHCHECK`);
	for (const instruction of finalStage.filter((i) => ['COPY', 'ADD'].includes(i.getKeyword()))) {
		const flags = (instruction as Instruction & { getFlags(): { getName(): string }[] }).getFlags();
		if (!flags.some((flag) => flag.getName() === 'chown'))
			problems.push(
				`${file}:${line(instruction)}: ${instruction.getKeyword()} into the final stage needs --chown`
			);
	}
	for (const env of dockerfile.getENVs())
		for (const property of env.getProperties())
			if (SECRET_NAME.test(property.getName()))
				problems.push(
					`${file}:${line(env)}: ENV ${property.getName()} looks like a secret: pass it at run time`
				);
	for (const arg of dockerfile.getARGs()) {
		const name = arg.getProperty()?.getName() ?? '';
		if (SECRET_NAME.test(name)) problems.push(`${file}:${line(arg)}: ARG ${name} looks like a secret`);
	}
	const dockerSteps = numbers(text, /^# Step (\d+):/gm);
	const scriptSteps = numbers(readFileSync(stepsScript, 'utf8'), /^step "(\d+)\./gm);
	if (dockerSteps.join() !== scriptSteps.join())
		problems.push(
			`${file}: steps ${dockerSteps.join(', ')} do not match ${stepsScript}'s steps ${scriptSteps.join(', ')}`
		);
	return problems;
}

function line(instruction: Instruction): number {
	return instruction.getRange().start.line + 1;
}

function numbers(text: string, pattern: RegExp): number[] {
	return [...text.matchAll(pattern)].map((match) => Number(match[1]));
}
