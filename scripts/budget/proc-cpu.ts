/** CPU time of processes, from Linux's /proc (user + system, every thread). */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: string | number): { comm: string; fields: string[] } | null {
	let text: string;
	try {
		text = readFileSync(`/proc/${pid}/stat`, 'utf8');
	} catch {
		return null; // the process has exited
	}
	const open = text.indexOf('(');
	const close = text.lastIndexOf(')');
	return { comm: text.slice(open + 1, close), fields: text.slice(close + 2).split(' ') };
}

function cpuMicros(fields: readonly string[]): number {
	// utime and stime are fields 14 and 15 of stat(5), the 12th and 13th after the name.
	return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
}

/** CPU time a process has used so far, in µs. */
export function processCpuMicros(pid: number): number {
	const stat = statFields(pid);
	if (!stat) throw new Error(`process ${pid} is not running`);
	return cpuMicros(stat.fields);
}

/** CPU time every running PostgreSQL process has used so far, in µs. */
export function postgresCpuMicros(): number {
	let total = 0;
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		const stat = statFields(entry);
		if (stat?.comm === 'postgres') total += cpuMicros(stat.fields);
	}
	return total;
}
