/**
 * The shared-memory task ring, both sides in one thread over the same buffer (the pool specs run it
 * across real worker threads).
 */
import { describe, expect, it } from 'vitest';
import { Channel, maxRowsPerSlot, SLOT_BYTES } from './channel';

function rows(nRows: number, nCols: number, from: number): Float32Array {
	return Float32Array.from({ length: nRows * nCols }, (_, i) => from + i);
}

describe('Channel', () => {
	it('should carry tasks and results in order around the ring, slot after slot', () => {
		const main = Channel.create(2);
		const worker = new Channel(main.buffer, 2);
		for (let seq = 0; seq < 7; seq++) {
			const explain = seq % 2 === 0 ? Uint8Array.of(1, 0, 1) : null;
			main.submit(seq, 40 + seq, rows(3, 5, seq * 100), 3, 5, explain);
			expect(worker.submitted).toBe(seq + 1);
			const task = worker.task(seq);
			expect(task).toMatchObject({ version: 40 + seq, nRows: 3 });
			expect([...task.rows]).toEqual([...rows(3, 5, seq * 100)]);
			expect(task.explain === null ? null : [...task.explain]).toEqual(explain === null ? null : [1, 0, 1]);
			worker.complete(seq, Float64Array.of(seq, seq + 0.5, -seq));
			expect(main.completed).toBe(seq + 1);
			expect([...(main.result(seq) as Float64Array)]).toEqual([seq, seq + 0.5, -seq]);
		}
	});

	it('should send only the rows of a task whose buffer is longer (capacity)', () => {
		const main = Channel.create(1);
		main.submit(0, 1, rows(8, 2, 0), 3, 2, null);
		expect([...new Channel(main.buffer, 1).task(0).rows]).toEqual([0, 1, 2, 3, 4, 5]);
	});

	it('should carry an error by name, message and code', () => {
		const main = Channel.create(2);
		const worker = new Channel(main.buffer, 2);
		main.submit(0, 1, rows(1, 4, 0), 1, 4, null);
		worker.fail(0, { name: 'MissingCover', message: 'no cover é', code: 'X' });
		expect(main.result(0)).toEqual({ name: 'MissingCover', message: 'no cover é', code: 'X' });
	});

	it('should cut a very long error message rather than overflow the slot', () => {
		const main = Channel.create(1);
		const worker = new Channel(main.buffer, 1);
		main.submit(0, 1, rows(1, 4, 0), 1, 4, null);
		worker.fail(0, { name: 'Error', message: 'x'.repeat(100_000) });
		const e = main.result(0) as { name: string; message: string };
		expect(e.name).toBe('Error');
		expect(e.message.length).toBeLessThan(4096);
	});

	it('should fit the largest batch it allows, every row explained, in one slot', () => {
		for (const [nCols, nFeatures] of [
			[24, 21],
			[1, 1],
			[3000, 2500]
		] as const) {
			const n = maxRowsPerSlot(nCols, nFeatures);
			const main = Channel.create(1);
			const worker = new Channel(main.buffer, 1);
			main.submit(0, 1, new Float32Array(n * nCols), n, nCols, new Uint8Array(n).fill(1));
			const result = new Float64Array(n * (2 + nFeatures)).fill(0.25);
			worker.complete(0, result);
			expect((main.result(0) as Float64Array).length).toBe(result.length);
			expect(4 * n * nCols + n + 8 * result.length).toBeLessThanOrEqual(SLOT_BYTES);
		}
	});

	it('should turn a result too large for its slot into an error instead of writing past it', () => {
		const main = Channel.create(1);
		const worker = new Channel(main.buffer, 1);
		main.submit(0, 1, rows(1, 4, 0), 1, 4, null);
		worker.complete(0, new Float64Array(SLOT_BYTES / 8));
		expect(main.result(0)).toMatchObject({ name: 'Error' });
		expect((main.result(0) as { message: string }).message).toMatch(/exceeds its slot/);
	});

	it('should not wait for a counter that has already moved, and wake a waiter that has', async () => {
		const main = Channel.create(2);
		const worker = new Channel(main.buffer, 2);
		main.submit(0, 1, rows(1, 1, 0), 1, 1, null);
		// Already moved: returns at once instead of sleeping for the timeout.
		const t0 = performance.now();
		worker.waitSubmittedBlocking(0, 5_000);
		expect(performance.now() - t0).toBeLessThan(1_000);
		const result = main.waitCompleted(0);
		expect(result).not.toBeNull();
		worker.complete(0, Float64Array.of(1));
		await result;
		expect(main.completed).toBe(1);
		expect(main.waitCompleted(0)).toBeNull();
	});

	it('should count announced control messages for the worker to read', () => {
		const main = Channel.create(1);
		const worker = new Channel(main.buffer, 1);
		expect(worker.control).toBe(0);
		main.announceControl();
		main.announceControl();
		expect(worker.control).toBe(2);
	});
});
