/**
 * Import rules checked by `npm run check:layers` (part of `npm run check`): no import cycles in
 * the server code or the inference engine; nothing but the entry points imports the composition
 * root (`core.ts`); use cases never import a transport; the database layer and the inference
 * engine import nothing above them.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
	forbidden: [
		{
			name: 'no-circular',
			severity: 'error',
			comment: 'An import cycle ties modules together so that neither can change or be tested alone.',
			from: {},
			to: { circular: true }
		},
		{
			name: 'composition-root',
			severity: 'error',
			comment:
				'core.ts wires everything; only the SvelteKit hooks (the server entry) and the tests may import it.',
			from: { pathNot: ['^src/hooks\\.server\\.ts$', '^tests/'] },
			to: { path: '^src/lib/server/core\\.ts$' }
		},
		{
			name: 'services-below-transports',
			severity: 'error',
			comment: 'Use cases know nothing of the doors they are reached through (tRPC, REST, pages).',
			from: { path: '^src/lib/server/(services|monitoring|auth|limits|db|observability)/' },
			to: { path: ['^src/lib/server/(http|trpc|portal)/', '^src/routes/'] }
		},
		{
			name: 'storage-and-engine-at-the-bottom',
			severity: 'error',
			comment: 'The database layer and the inference engine import no application code above them.',
			from: { path: ['^src/lib/server/db/', '^inference/'] },
			to: { path: ['^src/lib/server/(services|monitoring|limits|auth|http|trpc|portal)/', '^src/routes/'] }
		}
	],
	options: {
		doNotFollow: { path: 'node_modules' },
		tsPreCompilationDeps: true,
		tsConfig: { fileName: 'tsconfig.json' },
		enhancedResolveOptions: {
			exportsFields: ['exports'],
			conditionNames: ['import', 'require', 'node', 'default']
		}
	}
};
