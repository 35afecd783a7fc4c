import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The model families of the registry (`lending-club`, `consumer-credit`…). `generation` grows by
 * one with every change to the family's versions, so that an instance that missed a notification
 * sees, on its periodic check, that its copy is stale.
 */
export const models = pgTable('models', {
	id: text('id').primaryKey(),
	name: text('name').notNull(),
	createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
	generation: integer('generation').notNull().default(0),
	/** The champion before the last promotion: what a rollback restores (null: nothing to restore). */
	previousChampion: text('previous_champion')
});

export type ModelRow = typeof models.$inferSelect;
