import type { Timers } from '$lib/server/monitoring/alerts';

/** A clock and interval timers that move only when the test says so. */
export class ManualTime implements Timers {
	now = Date.now();
	readonly #intervals = new Map<number, { callback: () => void; ms: number; next: number }>();
	#ids = 0;

	setInterval(callback: () => void, ms: number): unknown {
		const id = ++this.#ids;
		this.#intervals.set(id, { callback, ms, next: this.now + ms });
		return id;
	}

	clearInterval(handle: unknown): void {
		this.#intervals.delete(handle as number);
	}

	/** Sets the clock to `now` (back, too) with every interval next due one interval after it. */
	rewind(now: number): void {
		this.now = now;
		for (const interval of this.#intervals.values()) interval.next = now + interval.ms;
	}

	/**
	 * Moves the clock forward by `ms`, firing each interval when due; `afterTick` waits for the
	 * work a tick started before time moves on.
	 */
	async advance(ms: number, afterTick: () => Promise<unknown>): Promise<void> {
		const target = this.now + ms;
		for (;;) {
			const due = [...this.#intervals.values()]
				.filter((interval) => interval.next <= target)
				.sort((a, b) => a.next - b.next)[0];
			if (!due) break;
			this.now = due.next;
			due.next += due.ms;
			due.callback();
			await afterTick();
		}
		this.now = target;
	}
}
