/** Reading the Prometheus text exposition in tests. */

export interface Series {
	name: string;
	labels: Record<string, string>;
	value: number;
}

const LINE = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of an exposition. */
export function parseExposition(text: string): Series[] {
	const series: Series[] = [];
	for (const line of text.split('\n')) {
		if (line === '' || line.startsWith('#')) continue;
		const match = LINE.exec(line);
		if (!match) throw new Error(`not an exposition line: ${line}`);
		const labels: Record<string, string> = {};
		for (const [, name = '', value = ''] of (match[2] ?? '').matchAll(LABEL)) {
			labels[name] = value.replace(/\\"/g, '"').replace(/\\\\/g, '\\');
		}
		series.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
	}
	return series;
}

/** Sum of the samples named `name` whose labels include `labels` (0 when there is none). */
export function sampleSum(
	series: readonly Series[],
	name: string,
	labels: Record<string, string> = {}
): number {
	return series
		.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
		.reduce((sum, s) => sum + s.value, 0);
}

/** The samples named `name`. */
export function samplesOf(series: readonly Series[], name: string): Series[] {
	return series.filter((s) => s.name === name);
}
