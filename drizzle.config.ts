import { defineConfig } from 'drizzle-kit';

// Migrations are generated from the schema and committed; CI regenerates them and fails on a diff.
export default defineConfig({
	dialect: 'postgresql',
	schema: './src/lib/server/db/schema/index.ts',
	out: './drizzle',
	strict: true,
	verbose: true
});
