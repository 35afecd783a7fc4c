import { sql } from 'drizzle-orm';
import { pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { models } from './models.table';

/**
 * Where a version stands: registered (known, not served unless named), shadow, challenger,
 * champion (served when a caller names no version), retired (rolled back; kept so that its
 * recorded decisions can still be explained, never promoted again).
 */
export const modelStates = ['registered', 'shadow', 'challenger', 'champion', 'retired'] as const;
export type ModelState = (typeof modelStates)[number];
export const modelStateEnum = pgEnum('model_state', modelStates);

/** Every version of every model family, with its state. One champion per family, by index. */
export const modelVersions = pgTable(
	'model_versions',
	{
		modelId: text('model_id')
			.notNull()
			.references(() => models.id),
		version: text('version').notNull(),
		state: modelStateEnum('state').notNull(),
		/** SHA-256 of the ONNX file, from the manifest. */
		sha256: text('sha256').notNull(),
		registeredAt: timestamp('registered_at', { withTimezone: true }).notNull().defaultNow(),
		stateChangedAt: timestamp('state_changed_at', { withTimezone: true }).notNull().defaultNow(),
		/** The state a version in shadow had before, which taking it out of shadow restores. */
		stateBeforeShadow: modelStateEnum('state_before_shadow')
	},
	(table) => [
		primaryKey({ columns: [table.modelId, table.version] }),
		uniqueIndex('model_versions_one_champion_idx')
			.on(table.modelId)
			.where(sql`${table.state} = 'champion'`)
	]
);

export type ModelVersionRow = typeof modelVersions.$inferSelect;
