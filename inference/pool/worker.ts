/**
 * Worker entry (bundled by `scripts/build-worker.js` into `dist/inference-worker.mjs`). It hosts
 * the loaded model versions, answers the pool's control messages (load / unload) one at a time, and
 * runs the batches of its shared-memory ring (`channel.ts`) one at a time, in submission order: the
 * pool relies on that order to match results to tasks and to know which task was running when a
 * worker died.
 *
 * The loop is synchronous while it can be: a model that answers synchronously (the ONNX models,
 * see `runtime/ort-session.ts`) is run and its result published without a turn of the event loop,
 * and an idle worker blocks in `Atomics.wait`. Control messages therefore come through a port of
 * their own, read with `receiveMessageOnPort` when the ring's `control` counter says one is there.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { OnnxModel } from '../runtime/onnx-model';
import type { InferenceModel } from '../runtime/model';
import { createTestModel } from '../runtime/test-models';
import { Channel } from './channel';
import { ModelNotFound, serializeError } from './errors';
import type { FromWorker, LoadSpec, ToWorker, WorkerOptions } from './messages';

const port = parentPort;
if (port === null) throw new Error('inference worker must run in a worker thread');
const options = workerData as WorkerOptions;
const models = new Map<string, InferenceModel>();
/** The same models by their ring index (`LoadSpec.index`). */
const byIndex = new Map<number, InferenceModel>();
const channel = new Channel(options.channel, options.slots);
/** onnxruntime refuses views of shared memory: rows are copied here (grown as needed) first. */
let rowsCopy = new Float32Array(0);
/**
 * How long an idle worker sleeps before it looks again on its own. Work and control messages wake
 * it at once; this only bounds how long a missed wake-up could cost.
 */
const IDLE_WAIT_MS = 1000;

function post(msg: FromWorker): void {
	port?.postMessage(msg);
}

function createModel(spec: LoadSpec): InferenceModel {
	switch (spec.kind) {
		case 'onnx':
			return new OnnxModel(spec.manifest, spec.modelBytes, options.intraOpThreads);
		case 'test':
			if (!options.testModels) throw new Error('test models are disabled in this pool');
			return createTestModel(spec.manifest, spec.test);
	}
}

async function handle(msg: ToWorker): Promise<void> {
	try {
		switch (msg.type) {
			case 'load': {
				const model = createModel(msg.spec);
				await model.load();
				const previous = models.get(msg.spec.key);
				models.set(msg.spec.key, model);
				byIndex.set(msg.spec.index, model);
				await previous?.unload();
				post({ type: 'loaded', id: msg.id, baseValue: model.baseValue });
				return;
			}
			case 'unload': {
				const model = models.get(msg.key);
				models.delete(msg.key);
				for (const [index, m] of byIndex) if (m === model) byIndex.delete(index);
				await model?.unload();
				post({ type: 'unloaded', id: msg.id });
				return;
			}
		}
	} catch (e) {
		// Name the version: the pool reports load failures of several bundles at start-up.
		if (msg.type === 'load' && e instanceof Error) e.message = `${msg.spec.key}: ${e.message}`;
		post({ type: 'failed', id: msg.id, error: serializeError(e) });
	}
}

/**
 * Runs task `seq` of the ring and publishes its result or its error; returns a promise only when
 * the model answers asynchronously.
 */
function run(seq: number): Promise<void> | undefined {
	try {
		const { version, rows, nRows, explain } = channel.task(seq);
		const model = byIndex.get(version);
		if (model === undefined) throw new ModelNotFound(`model #${version} is not loaded in this worker`);
		if (rowsCopy.length < rows.length) rowsCopy = new Float32Array(rows.length);
		rowsCopy.set(rows);
		const out = model.predict({ rows: rowsCopy, nRows, explain });
		if (out instanceof Float64Array) {
			channel.complete(seq, out);
			return undefined;
		}
		return out.then(
			(data) => channel.complete(seq, data),
			(e: unknown) => channel.fail(seq, serializeError(e))
		);
	} catch (e) {
		channel.fail(seq, serializeError(e));
		return undefined;
	}
}

/** Handles the control messages announced since the last look, one after another. */
async function handleControl(): Promise<void> {
	for (;;) {
		const received = receiveMessageOnPort(options.control);
		if (received === undefined) return;
		await handle(received.message as ToWorker);
	}
}

/**
 * Takes the ring's tasks in order and the control messages between them; blocks only when there
 * is neither.
 */
async function serve(): Promise<void> {
	let controlSeen = 0;
	for (let seq = 0; ;) {
		const control = channel.control;
		if (control !== controlSeen) {
			controlSeen = control;
			await handleControl();
			continue;
		}
		if (channel.submitted === seq) {
			channel.waitSubmittedBlocking(seq, IDLE_WAIT_MS);
			continue;
		}
		const pending = run(seq);
		if (pending !== undefined) await pending;
		seq += 1;
	}
}

post({ type: 'ready' });
void serve();
