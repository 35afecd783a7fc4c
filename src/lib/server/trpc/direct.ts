/**
 * Resolvers the REST layer may call without a tRPC caller, by procedure path. Routers register
 * their hot resolvers here (`routers/scoring.ts`), and those whose calls carry bodies larger than
 * SvelteKit's adapter takes (`routers/outcomes.ts`); `http/rest.ts` and `http/trpc-fast.ts` read
 * them. A module of its own, without imports, so that neither side imports the other.
 */
export type DirectResolver = (opts: { ctx: never; input: never }) => Promise<unknown>;

const resolvers = new Map<string, DirectResolver>();

export function registerDirect(procedurePath: string, resolver: DirectResolver): void {
	resolvers.set(procedurePath, resolver);
}

export function directResolver(procedurePath: string): DirectResolver | undefined {
	return resolvers.get(procedurePath);
}
