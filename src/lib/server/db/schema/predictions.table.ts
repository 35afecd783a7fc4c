import { sql } from 'drizzle-orm';
import {
	customType,
	doublePrecision,
	index,
	integer,
	json,
	pgTable,
	real,
	text,
	timestamp,
	uniqueIndex,
	uuid
} from 'drizzle-orm/pg-core';
import { channelEnum, decisionEnum } from './enums';

/** One reason code as recorded with a decision. */
export interface StoredReason {
	feature: string;
	code: string;
	/** The sentence as given with the decision (older rows: the manifest's fixed text). */
	text: string;
	/** The comparison the text names; absent on rows recorded before reasons named one. */
	standing?: { side: 'higher' | 'lower' | 'worse'; percent: number } | null;
	contribution: number;
}

/** `bytea`, read as bytes from both drivers (postgres.js gives a Buffer, PGlite a Uint8Array). */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
	dataType: () => 'bytea',
	fromDriver: (value) => (value instanceof Uint8Array ? value : Buffer.from(String(value).slice(2), 'hex'))
});

/**
 * Every scored application, written before the response is sent: the audit trail, and what the
 * history, the monitoring page and the score-shift alert read. Rows are never updated.
 *
 * `input`, `reasons` and `shap` are `json`, not `jsonb`: this is the hottest write path of the
 * product, and PostgreSQL only checks `json` text where `jsonb` parses it into a binary tree. The
 * group-commit INSERT of 1,000 rows took 199 ms of server CPU with `jsonb` and 88 ms with `json`
 * (backend CPU time from /proc, same machine and load). Reads (`->>`, `json_each`) work on both;
 * nothing indexes these columns.
 *
 * Indexes are kept to what reads need, as each one costs every write: the time range (monitoring,
 * drift, history), model version, requester, batch, application reference (partial: most calls
 * give none) and the idempotency key. Decision filters in the history walk the time index (a third
 * of rows match), so they have none of their own.
 */
export const predictions = pgTable(
	'predictions',
	{
		id: uuid('id').primaryKey(),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		modelId: text('model_id').notNull(),
		modelVersion: text('model_version').notNull(),
		requestId: text('request_id').notNull(),
		idempotencyKey: text('idempotency_key'),
		requester: text('requester').notNull(),
		channel: channelEnum('channel').notNull(),
		batchId: uuid('batch_id'),
		/** The caller's own reference of the application (its loan-origination id), when given. */
		applicationId: text('application_id'),
		input: json('input').$type<Record<string, number | string | null>>().notNull(),
		probability: doublePrecision('probability').notNull(),
		margin: doublePrecision('margin').notNull(),
		points: integer('points').notNull(),
		band: text('band').notNull(),
		decision: decisionEnum('decision').notNull(),
		reasons: json('reasons').$type<StoredReason[]>().notNull(),
		/**
		 * SHAP contribution of each feature, in log-odds: float64 little-endian, one per key of `input`
		 * and in the same order (the manifest's). Binary because this is most of a row's numbers:
		 * as a JSON object it cost 15–20 ms more server CPU per 1,000 rows written, and as many
		 * number-to-text conversions in the service (docs/performance.md). SQL reads it with
		 * `shap_values(shap_values)`, a float8[] (migration 0005).
		 */
		shapValues: bytea('shap_values'),
		/** SHAP of predictions recorded before migration 0005, as a JSON object feature → value. */
		shap: json('shap').$type<Record<string, number>>(),
		baseValue: doublePrecision('base_value'),
		latencyMs: real('latency_ms').notNull()
	},
	(table) => [
		index('predictions_created_at_idx').on(table.createdAt),
		index('predictions_model_created_at_idx').on(table.modelId, table.modelVersion, table.createdAt),
		index('predictions_requester_created_at_idx').on(table.requester, table.createdAt),
		index('predictions_application_idx')
			.on(table.applicationId)
			.where(sql`${table.applicationId} is not null`),
		index('predictions_batch_idx')
			.on(table.batchId)
			.where(sql`${table.batchId} is not null`),
		uniqueIndex('predictions_idempotency_idx')
			.on(table.requester, table.idempotencyKey)
			.where(sql`${table.idempotencyKey} is not null`)
	]
);

export type Prediction = typeof predictions.$inferSelect;
export type NewPrediction = typeof predictions.$inferInsert;
