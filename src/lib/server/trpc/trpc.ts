/**
 * The tRPC core, in the order a request meets it:
 *   1. context — built from what `hooks.server.ts` put in `event.locals`;
 *   2. initialisation — an error formatter that flattens zod errors into field-level messages and
 *      never leaks a stack;
 *   3. procedures — public, protected (any authenticated principal) and per-role.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { RequestEvent } from '@sveltejs/kit';
import { z, ZodError } from 'zod';
import type { Principal } from '../auth/principal';
import type { Core } from '../core-types';
import type { Channel, Role } from '../db/schema';
import { ROOT_FIELD, toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import { fieldsWithNul } from '$lib/validation/nul';
import { asDomainError, DomainError, toTRPCError, ValidationFailed } from '../errors';
import { emitRequest } from '../observability/request-events';
import { inSpan } from '../observability/tracing';

// 1. CONTEXT

export interface Context {
	core: Core;
	principal: Principal | null;
	requestId: string;
	ip: string | null;
	/** Which door the request came through; recorded with each prediction. */
	channel: Channel;
}

/** Builds the context of a SvelteKit request from `event.locals`. */
export function createContext(event: RequestEvent): Context {
	return {
		core: event.locals.core,
		principal: event.locals.principal,
		requestId: event.locals.requestId,
		ip: safeClientAddress(event),
		channel: event.url.pathname.startsWith('/trpc') ? 'trpc' : 'portal'
	};
}

function safeClientAddress(event: RequestEvent): string | null {
	try {
		return event.getClientAddress();
	} catch {
		return null;
	}
}

// 2. INITIALISATION

export interface ErrorData {
	fieldErrors?: FieldErrors;
}

/**
 * Procedure metadata: the REST route (`openapi`, read by the OpenAPI generator and by the REST
 * router), the access rule (`access`: 'public', 'authenticated' or the roles allowed), declared
 * once by the procedure builder and read by the access table test, and `file`: the procedure
 * answers a {@link FileOutput}, which tRPC callers get as JSON and REST writes as the raw file.
 */
export type Access = 'public' | 'authenticated' | readonly Role[];
export type Meta = OpenApiMeta & { access?: Access; file?: { contentType: string } };

const t = initTRPC
	.context<Context>()
	.meta<Meta>()
	.create({
		errorFormatter({ shape, error }) {
			const fieldErrors =
				error.cause instanceof ZodError
					? toFieldErrors(error.cause.issues)
					: error.cause instanceof ValidationFailed
						? error.cause.fieldErrors
						: undefined;
			// Stacks never leave the server, whatever NODE_ENV says.
			const { stack: _stack, ...data } = shape.data;
			// An unexpected error's message may carry internals (SQL, paths); it is logged, not returned.
			const message =
				error.code === 'INTERNAL_SERVER_ERROR'
					? 'Internal error; quote the x-request-id header.'
					: shape.message;
			return { ...shape, message, data: { ...data, fieldErrors } };
		}
	});

/**
 * tRPC's error body for `error`, for an answer made before tRPC runs (a refused bearer token, a
 * rate limit): one shape per procedure a `/trpc/a,b?batch=1` URL names, an array for a batch.
 */
export function trpcErrorBody(error: TRPCError, url: URL): unknown {
	let paths: string[];
	try {
		paths = decodeURIComponent(url.pathname.replace(/^\/trpc\/?/, '')).split(',');
	} catch {
		paths = [''];
	}
	const shapes = paths.map((path) => ({
		error: getErrorShape({
			config: t._config,
			error,
			type: 'unknown',
			path,
			input: undefined,
			ctx: undefined
		})
	}));
	return url.searchParams.get('batch') === '1' ? shapes : shapes[0];
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

// 3. PROCEDURES

/**
 * Domain errors thrown by services become the matching tRPC error, here and only here. Calls that
 * came through the tRPC API (not REST, not page loads, which are measured at their own door) are
 * timed into the request metrics and, when traced, get a span each (a batch holds many calls).
 */
const baseProcedure = t.procedure.use(async ({ ctx, path, next }) => {
	if (ctx.channel !== 'trpc') return mapDomainErrors(await next());
	const started = performance.now();
	try {
		const result = mapDomainErrors(await inSpan(`trpc ${path}`, { 'rpc.method': path }, () => next()));
		emitCall(path, result.ok ? 200 : getHTTPStatusCodeFromError(result.error), started);
		return result;
	} catch (error) {
		emitCall(path, error instanceof TRPCError ? getHTTPStatusCodeFromError(error) : 500, started);
		throw error;
	}
});

/**
 * A string with a NUL character, which no PostgreSQL text column or parameter holds, is a
 * field-level 400 before the procedure runs (`$lib/validation/nul.ts`).
 */
const textInput = t.middleware(async ({ getRawInput, next }) => {
	const fields = fieldsWithNul(await getRawInput());
	if (fields.length > 0) {
		const message = 'Must not contain a NUL character (U+0000).';
		throw toTRPCError(
			new ValidationFailed(Object.fromEntries(fields.map((field) => [field || ROOT_FIELD, [message]])))
		);
	}
	return next();
});

/**
 * Maps domain errors, and a database that is down or cannot take the statement now (whatever
 * query a procedure was running), to their tRPC errors: the latter is a 503 with `Retry-After`,
 * not a 500.
 */
function mapDomainErrors<R extends { ok: boolean; error?: unknown }>(result: R): R {
	if (!result.ok && result.error instanceof TRPCError) {
		const cause = result.error.cause;
		const domain =
			cause instanceof DomainError || result.error.code === 'INTERNAL_SERVER_ERROR'
				? asDomainError(cause)
				: undefined;
		if (domain) throw toTRPCError(domain);
	}
	return result;
}

function emitCall(path: string, status: number, started: number): void {
	emitRequest({ kind: 'trpc', route: path, status, durationMs: performance.now() - started, at: Date.now() });
}

/** Anyone, signed in or not. */
export const publicProcedure = baseProcedure.use(textInput).meta({ access: 'public' });

/**
 * The access rule of a procedure applied to a principal: the error to throw, or null when it may
 * call. The middlewares below and the REST layer's direct routes (`http/rest.ts`) share it.
 */
export function accessError(access: Access | undefined, principal: Principal | null): TRPCError | null {
	if (access === undefined || access === 'public') return null;
	if (!principal) return new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in or send a bearer token.' });
	if (access === 'authenticated' || access.includes(principal.role)) return null;
	return new TRPCError({ code: 'FORBIDDEN', message: `Requires one of the roles: ${access.join(', ')}.` });
}

/** Any authenticated principal. */
export const protectedProcedure = baseProcedure
	.meta({ access: 'authenticated' })
	.use(({ ctx, next }) => {
		if (!ctx.principal) throw accessError('authenticated', null) ?? new TRPCError({ code: 'UNAUTHORIZED' });
		return next({ ctx: { ...ctx, principal: ctx.principal } });
	})
	.use(textInput);

/** Principals holding one of `roles`; everyone else gets 403 (401 when anonymous). */
export function roleProcedure(...roles: readonly Role[]) {
	return protectedProcedure.meta({ access: roles }).use(({ ctx, next }) => {
		const denied = accessError(roles, ctx.principal);
		if (denied) throw denied;
		return next();
	});
}

/** What a `file` procedure answers: the bytes in base64 (JSON has no bytes) and a file name. */
export const fileOutput = z.object({
	contentType: z.string(),
	filename: z.string().describe('Name to save the file under.'),
	base64: z.string().describe('The file, base64-encoded.')
});
export type FileOutput = z.infer<typeof fileOutput>;

/** A file as a `file` procedure answers it. */
export function toFileOutput(file: { contentType: string; filename: string; bytes: Uint8Array }): FileOutput {
	return {
		contentType: file.contentType,
		filename: file.filename,
		base64: Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength).toString('base64')
	};
}
