/**
 * The chart's values.schema.json, checked with ajv the way Helm applies it: to the defaults, and to
 * each example merged over the defaults (maps merge, everything else replaces).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export type Values = Record<string, unknown>;

const isMap = (value: unknown): value is Values =>
	!!value && typeof value === 'object' && !Array.isArray(value);

/** Helm's merge of user values over the defaults: maps merge, everything else replaces. */
export function mergeValues(base: Values, over: Values): Values {
	const out: Values = { ...base };
	for (const [key, value] of Object.entries(over)) {
		const under = base[key];
		out[key] = isMap(value) && isMap(under) ? mergeValues(under, value) : value;
	}
	return out;
}

/** The compiled schema at `file`; throws when it is not a valid JSON Schema. */
export function compileSchema(file: string): ValidateFunction {
	const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
	addFormats(ajv);
	return ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object);
}

/** The schema's complaints about `values`, one sentence each, named by `file`. */
export function valueProblems(validate: ValidateFunction, file: string, values: Values): string[] {
	if (validate(values)) return [];
	return (validate.errors ?? []).map((e) => `${file}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/**
 * Problems of the chart in `chart`: the schema must accept values.yaml and every examples/*.yaml,
 * and refuse each of `broken` (merged over the defaults), so that it is known to be able to say no.
 */
export function checkChartValues(chart: string, broken: Values[]): { problems: string[]; examples: number } {
	let validate: ValidateFunction;
	try {
		validate = compileSchema(`${chart}/values.schema.json`);
	} catch (error) {
		return { problems: [`${chart}/values.schema.json: ${(error as Error).message}`], examples: 0 };
	}
	const defaults = parseYaml(readFileSync(`${chart}/values.yaml`, 'utf8')) as Values;
	const examples = readdirSync(`${chart}/examples`).filter((name) => name.endsWith('.yaml'));
	const problems = valueProblems(validate, `${chart}/values.yaml`, defaults);
	for (const name of examples) {
		const file = `${chart}/examples/${name}`;
		const example = parseYaml(readFileSync(file, 'utf8')) as Values;
		problems.push(...valueProblems(validate, file, mergeValues(defaults, example)));
	}
	for (const values of broken)
		if (validate(mergeValues(defaults, values)))
			problems.push(`${chart}/values.schema.json accepts ${JSON.stringify(values)}`);
	return { problems, examples: examples.length };
}
