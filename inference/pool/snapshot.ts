/** A snapshot of the pool for the observability layer: the dispatcher's state with the recorder's counters. */
import type { Dispatcher } from './dispatcher';
import type { ModelRegistry } from './registry';
import { BATCH_SIZE_BOUNDS, type PoolStats, type StatsRecorder } from './stats';

/** The pool's state and counters at this instant. */
export function snapshotStats(
	rec: StatsRecorder,
	d: Dispatcher,
	openRows: number,
	registry: ModelRegistry
): PoolStats {
	return {
		workers: d.handles.length,
		busyWorkers: d.handles.filter((h) => h.inFlight.length > 0).length,
		queuedRows: openRows + d.queuedRows,
		queuedTasks: d.queuedTasks,
		inFlightRows: d.inFlightRows,
		inFlightTasks: d.handles.reduce((n, h) => n + h.inFlight.length, 0),
		perWorker: d.handles.map((h) => ({
			id: h.id,
			state: h.state,
			inFlightTasks: h.inFlight.length,
			completedTasks: h.completedTasks,
			completedRows: h.completedRows
		})),
		rowsPerSecond: rec.rowsPerSecond(),
		counters: { ...rec.counters },
		batchSizes: {
			bounds: BATCH_SIZE_BOUNDS,
			counts: [...rec.batchCounts],
			sum: rec.batchRowSum,
			count: rec.batchCount
		},
		models: registry.all().map((v) => ({
			key: v.key,
			id: v.id,
			version: v.version,
			active: registry.activeOf(v.id) === v,
			state: v.state,
			pendingRows: v.pendingRows
		}))
	};
}
