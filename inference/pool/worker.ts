/**
 * Worker entry (bundled by `scripts/build-worker.js` into `dist/inference-worker.mjs`). It hosts
 * the loaded model versions and answers the pool's messages one at a time, in arrival order: the
 * pool relies on that order to match results to tasks and to know which task was running when a
 * worker died.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxModel } from '../runtime/onnx-model';
import type { InferenceModel } from '../runtime/model';
import { createTestModel } from '../runtime/test-models';
import { ModelNotFound, serializeError } from './errors';
import type { FromWorker, LoadSpec, ToWorker, WorkerOptions } from './messages';

const port = parentPort;
if (port === null) throw new Error('inference worker must run in a worker thread');
const options = workerData as WorkerOptions;
const models = new Map<string, InferenceModel>();
/** Results larger than this are transferred rather than copied. */
const TRANSFER_BYTES = 16_384;

function post(msg: FromWorker, transfer?: ArrayBuffer[]): void {
	port?.postMessage(msg, transfer);
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
			case 'predict': {
				const model = models.get(msg.key);
				if (model === undefined) throw new ModelNotFound(`model ${msg.key} is not loaded in this worker`);
				const data = await model.predict({ rows: msg.rows, nRows: msg.nRows, explain: msg.explain });
				// Moving a buffer costs more than copying a few kilobytes; only big results are moved.
				post(
					{ type: 'result', id: msg.id, data },
					data.byteLength > TRANSFER_BYTES ? [data.buffer as ArrayBuffer] : undefined
				);
				return;
			}
			case 'load': {
				const model = createModel(msg.spec);
				await model.load();
				const previous = models.get(msg.spec.key);
				models.set(msg.spec.key, model);
				await previous?.unload();
				post({ type: 'loaded', id: msg.id, baseValue: model.baseValue });
				return;
			}
			case 'unload': {
				const model = models.get(msg.key);
				models.delete(msg.key);
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

// One message at a time: each waits for the previous one to finish.
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: ToWorker) => {
	queue = queue.then(() => handle(msg));
});
post({ type: 'ready' });
