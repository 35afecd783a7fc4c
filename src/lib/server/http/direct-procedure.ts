/**
 * A hot procedure as the fast doors call it without a tRPC caller (`trpc/direct.ts`): its access
 * rule, its own input parser and its resolver, read from the router. Shared by the REST routes
 * (`rest.ts`) and the `/trpc` fast path (`trpc-fast.ts`).
 */
import type { ZodError } from 'zod';
import { directResolver } from '../trpc/direct';
import { appRouter } from '../trpc/root';
import type { Principal } from '../auth/principal';
import type { Context, Meta } from '../trpc/trpc';

export interface DirectProcedure {
	path: string;
	meta: Meta | undefined;
	parse: (input: unknown) => { success: true; data: unknown } | { success: false; error: ZodError };
	resolve: (opts: { ctx: Context & { principal: Principal }; input: never }) => Promise<unknown>;
}

interface ProcedureDef {
	meta?: Meta;
	inputs: { safeParse: DirectProcedure['parse'] }[];
}

/** The procedure at `path` when it has a direct resolver and one input parser; undefined otherwise. */
export function directProcedure(path: string): DirectProcedure | undefined {
	const resolve = directResolver(path) as DirectProcedure['resolve'] | undefined;
	const procedures = appRouter._def.procedures as unknown as Record<
		string,
		{ _def: ProcedureDef } | undefined
	>;
	const def = procedures[path]?._def;
	const input = def?.inputs.length === 1 ? def.inputs[0] : undefined;
	if (!resolve || !def || !input) return undefined;
	return { path, meta: def.meta, parse: (value) => input.safeParse(value), resolve };
}
