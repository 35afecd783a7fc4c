/**
 * The main thread's side of one worker: its thread, its task ring, the tasks sent to it (in order —
 * the first is the one running), the model versions it has loaded, and its control requests
 * (load / unload) awaiting a reply. It reports results and its own death to the dispatcher and
 * makes no decisions.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { Channel } from './channel';
import { deserializeError, WorkerCrashed } from './errors';
import type { FromWorker, LoadSpec, ToWorker, WorkerOptions } from './messages';
import type { Task } from './task';

export type DeathCause = 'crash' | 'timeout' | 'closed';

export interface WorkerEvents {
	/** A task's result (the head of `inFlight`, already removed). */
	onResult(handle: WorkerHandle, task: Task, data: Float64Array): void;
	/** The model failed the head task (already removed); the worker is fine. */
	onTaskError(handle: WorkerHandle, task: Task, error: Error): void;
	/** The thread is gone; `inFlight` still holds what it had not finished. */
	onDeath(handle: WorkerHandle, cause: DeathCause, error: Error): void;
}

interface Control {
	resolve: (msg: FromWorker) => void;
	reject: (e: Error) => void;
}

/** Control replies (load can take a while for a big model) must come within this time. */
const CONTROL_TIMEOUT_MS = 120_000;

/** One worker thread as the dispatcher sees it (see the file comment). */
export class WorkerHandle {
	state: 'starting' | 'ready' | 'dead' = 'starting';
	/** Tasks sent and not answered, in sending order; `inFlight[0]` is running. */
	readonly inFlight: Task[] = [];
	/** Versions loaded in this worker, with the base value it computed for each. */
	readonly baseValues = new Map<string, number>();
	/** Tasks and rows this worker answered. */
	completedTasks = 0;
	completedRows = 0;
	/** Deadline of the running task. */
	timer: NodeJS.Timeout | undefined;
	private readonly worker: Worker;
	private readonly channel: Channel;
	/** Where control requests go (the worker reads them between batches); replies come as messages. */
	private readonly controlPort: MessagePort;
	/** Tasks written to the ring, and results read from it. */
	private submitted = 0;
	private collected = 0;
	/** Whether a wait for the worker's next result is armed, or results are being read now. */
	private watching = false;
	private collecting = false;
	private readonly controls = new Map<number, Control>();
	/** Control ids are negative so they never collide with task ids (0 is `ready`). */
	private nextControl = -1;
	private readonly readyPromise: Promise<void>;

	constructor(
		readonly id: number,
		file: string,
		options: Omit<WorkerOptions, 'channel' | 'slots' | 'control'>,
		slots: number,
		private readonly events: WorkerEvents
	) {
		this.channel = Channel.create(slots);
		const { port1, port2 } = new MessageChannel();
		this.controlPort = port1;
		const workerData: WorkerOptions = { ...options, channel: this.channel.buffer, slots, control: port2 };
		this.worker = new Worker(file, { workerData, transferList: [port2] });
		this.readyPromise = new Promise((resolve, reject) => {
			this.controls.set(0, { resolve: () => resolve(), reject });
		});
		this.worker.on('message', (msg: FromWorker) => this.onMessage(msg));
		this.worker.on('error', (e) =>
			this.die('crash', new WorkerCrashed(`inference worker ${id} failed: ${e.name}: ${e.message}`))
		);
		this.worker.on('exit', (code) =>
			this.die('crash', new WorkerCrashed(`inference worker ${id} exited with code ${code}`))
		);
	}

	get alive(): boolean {
		return this.state !== 'dead';
	}

	/** Resolves when the thread has started (before any model is loaded). */
	ready(): Promise<void> {
		return this.readyPromise;
	}

	/**
	 * Writes a task into the ring; the dispatcher has already appended it to `inFlight` and keeps
	 * at most `slots` tasks there.
	 */
	send(task: Task): void {
		const v = task.version;
		this.channel.submit(this.submitted++, v.spec.index, task.rows, task.nRows, v.nCols, task.explain);
		if (!this.collecting) this.watch();
	}

	async load(spec: LoadSpec): Promise<void> {
		const reply = await this.control({ type: 'load', id: this.nextControl--, spec });
		if (reply.type === 'loaded') this.baseValues.set(spec.key, reply.baseValue);
	}

	unload(key: string): Promise<void> {
		this.baseValues.delete(key);
		return this.control({ type: 'unload', id: this.nextControl--, key }).then(() => undefined);
	}

	/** Terminates the thread; `cause` is reported to the dispatcher once. */
	kill(cause: DeathCause, error: Error): void {
		this.die(cause, error);
	}

	private control(msg: ToWorker & { id: number }): Promise<FromWorker> {
		if (this.state === 'dead')
			return Promise.reject(new WorkerCrashed(`inference worker ${this.id} is gone`));
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.die(
					'timeout',
					new WorkerCrashed(`inference worker ${this.id} did not answer ${msg.type} in time`)
				);
			}, CONTROL_TIMEOUT_MS);
			timer.unref();
			const settle =
				<T>(f: (v: T) => void) =>
				(v: T) => {
					clearTimeout(timer);
					f(v);
				};
			this.controls.set(msg.id, { resolve: settle(resolve), reject: settle(reject) });
			this.controlPort.postMessage(msg);
			this.channel.announceControl();
		});
	}

	/**
	 * Reads every result the worker has published, then, while tasks remain, waits for the next
	 * one without blocking the thread. Results that arrive while this thread is busy are read on
	 * its next pass, with no wake-up of their own.
	 */
	private watch(): void {
		if (this.watching) return;
		this.collecting = true;
		for (;;) {
			const completed = this.channel.completed;
			while (this.collected < completed && this.state !== 'dead') this.collect(this.collected++);
			if (this.state === 'dead' || this.inFlight.length === 0) break;
			const wait = this.channel.waitCompleted(completed);
			if (wait === null) continue;
			this.watching = true;
			void wait.then(this.wake);
			break;
		}
		this.collecting = false;
	}

	private readonly wake = (): void => {
		this.watching = false;
		this.watch();
	};

	/** Hands result `seq` (the head task's) to the dispatcher. */
	private collect(seq: number): void {
		const head = this.inFlight.shift();
		if (head === undefined) return;
		const result = this.channel.result(seq);
		if (result instanceof Float64Array) this.events.onResult(this, head, result);
		else this.events.onTaskError(this, head, deserializeError(result));
	}

	private onMessage(msg: FromWorker): void {
		switch (msg.type) {
			case 'ready':
				this.settle(0, msg);
				return;
			case 'loaded':
			case 'unloaded':
				this.settle(msg.id, msg);
				return;
			case 'failed': {
				const control = this.controls.get(msg.id);
				this.controls.delete(msg.id);
				control?.reject(deserializeError(msg.error));
				return;
			}
		}
	}

	private settle(id: number, msg: FromWorker): void {
		const control = this.controls.get(id);
		this.controls.delete(id);
		control?.resolve(msg);
	}

	private die(cause: DeathCause, error: Error): void {
		if (this.state === 'dead') return;
		this.state = 'dead';
		// Results the worker published before it died are good: hand them over, retry only the rest.
		if (cause !== 'closed') {
			const completed = this.channel.completed;
			while (this.collected < completed && this.inFlight.length > 0) this.collect(this.collected++);
		}
		this.channel.release();
		clearTimeout(this.timer);
		for (const c of this.controls.values()) c.reject(error);
		this.controls.clear();
		this.controlPort.close();
		// terminate() may never settle if native code is stuck; nobody waits on it.
		this.worker.terminate().catch(() => undefined);
		this.events.onDeath(this, cause, error);
	}
}
