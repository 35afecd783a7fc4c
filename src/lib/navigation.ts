/**
 * The portal's main navigation. Each link names its route id; the root layout shows only the
 * links whose page the visitor may open, per src/lib/server/auth/access.ts.
 */
export const navigation = [
	{ route: '/score', label: 'Score' },
	{ route: '/models', label: 'Models' },
	{ route: '/history', label: 'History' },
	{ route: '/batch', label: 'Batch' },
	{ route: '/outcomes', label: 'Outcomes' },
	{ route: '/monitoring', label: 'Monitoring' },
	{ route: '/guide', label: 'Guide' },
	{ route: '/admin', label: 'Administration' }
] as const satisfies readonly {
	route: string;
	label: string;
}[];

export type NavRoute = (typeof navigation)[number]['route'];
