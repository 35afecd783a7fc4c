/** Reading a V8 CPU profile (`--cpu-prof`) and walking the samples of a time window. */
import { readFileSync } from 'node:fs';

export interface CallFrame {
	functionName: string;
	url: string;
	lineNumber: number;
	columnNumber: number;
}

export interface ProfileNode {
	id: number;
	callFrame: CallFrame;
	children?: number[];
}

interface RawProfile {
	nodes: ProfileNode[];
	startTime: number;
	endTime: number;
	samples: number[];
	timeDeltas: number[];
}

export interface Profile {
	nodes: ReadonlyMap<number, ProfileNode>;
	parentOf: ReadonlyMap<number, number>;
	startTime: number;
	samples: readonly number[];
	timeDeltas: readonly number[];
}

export function readProfile(file: string): Profile {
	const raw = JSON.parse(readFileSync(file, 'utf8')) as RawProfile;
	const nodes = new Map<number, ProfileNode>();
	const parentOf = new Map<number, number>();
	for (const node of raw.nodes) {
		nodes.set(node.id, node);
		for (const child of node.children ?? []) parentOf.set(child, node.id);
	}
	return { nodes, parentOf, startTime: raw.startTime, samples: raw.samples, timeDeltas: raw.timeDeltas };
}

/** The frames of `node`'s stack, innermost first. */
export function* stackOf(profile: Profile, node: ProfileNode): Generator<ProfileNode> {
	let current: ProfileNode | undefined = node;
	while (current) {
		yield current;
		const parent = profile.parentOf.get(current.id);
		current = parent === undefined ? undefined : profile.nodes.get(parent);
	}
}

/**
 * The samples taken between `start` and `end` (µs on the profiler's clock, CLOCK_MONOTONIC on
 * Linux, the clock of `process.hrtime`), each with the time it stands for: the gap to the next
 * sample.
 */
export function* samplesBetween(
	profile: Profile,
	start: number,
	end: number
): Generator<{ node: ProfileNode; micros: number }> {
	let time = profile.startTime;
	const { samples, timeDeltas } = profile;
	for (let i = 0; i < samples.length; i++) {
		time += timeDeltas[i] ?? 0;
		if (time < start || time > end) continue;
		const node = profile.nodes.get(samples[i] ?? -1);
		const micros = Math.max(0, timeDeltas[i + 1] ?? 0);
		if (node && micros > 0) yield { node, micros };
	}
}
