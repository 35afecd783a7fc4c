import { customType, foreignKey, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { modelVersions } from './model-versions.table';

/** `bytea`, read as bytes from both drivers (postgres.js gives a Buffer, PGlite a Uint8Array). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
	dataType: () => 'bytea',
	fromDriver: (value) => (value instanceof Uint8Array ? value : Buffer.from(String(value).slice(2), 'hex'))
});

/**
 * Bundles uploaded through the application, stored as their archive so that every instance sharing
 * the database can load them (bundles shipped in `MODELS_DIR` are on every instance's disk and have
 * no row here). Written once, with the version's registry row.
 */
export const modelBundles = pgTable(
	'model_bundles',
	{
		modelId: text('model_id').notNull(),
		version: text('version').notNull(),
		/** The archive as uploaded (tar or tar.gz). */
		archive: bytea('archive').notNull(),
		uploadedAt: timestamp('uploaded_at', { withTimezone: true }).notNull().defaultNow(),
		uploadedBy: text('uploaded_by').notNull()
	},
	(table) => [
		primaryKey({ columns: [table.modelId, table.version] }),
		foreignKey({
			name: 'model_bundles_version_fk',
			columns: [table.modelId, table.version],
			foreignColumns: [modelVersions.modelId, modelVersions.version]
		})
	]
);
