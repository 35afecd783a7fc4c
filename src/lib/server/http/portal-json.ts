/**
 * JSON endpoints of the portal's own pages (e.g. batch chunks posted by the browser): the same
 * error shape as the REST API — `{ error: { code, message, fieldErrors?, requestId } }` — so a bad
 * request is a field-level 4xx and an unexpected failure a 500 without details.
 */
import type { RequestEvent } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { ZodError } from 'zod';
import { ROOT_FIELD, toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import { DomainError, retryAfterOf, toTRPCError, ValidationFailed } from '../errors';
import { logger } from '../logger';

/** A JSON answer that is never cached. */
export function jsonAnswer(status: number, payload: unknown, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify(payload), {
		status,
		headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }
	});
}

/**
 * Reads a JSON object body from a page of this site. Cookie-authenticated JSON posts from other
 * origins are refused (SvelteKit's CSRF check covers forms only).
 */
export async function readJsonBody(event: RequestEvent): Promise<Record<string, unknown>> {
	const origin = event.request.headers.get('origin');
	if (origin !== null && origin !== event.url.origin)
		throw new TRPCError({ code: 'FORBIDDEN', message: 'Cross-site request refused.' });
	if (!/^application\/json\b/i.test(event.request.headers.get('content-type') ?? ''))
		throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as application/json.' });
	let value: unknown;
	try {
		value = await event.request.json();
	} catch {
		throw new ValidationFailed({ [ROOT_FIELD]: ['Invalid JSON.'] }, 'The body is not valid JSON.');
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value))
		throw new ValidationFailed(
			{ [ROOT_FIELD]: ['Expected a JSON object.'] },
			'The body must be a JSON object.'
		);
	return value as Record<string, unknown>;
}

/** The JSON answer to a refused or failed request; unexpected errors are logged and hidden. */
export function jsonProblem(error: unknown, requestId: string): Response {
	const trpc =
		error instanceof TRPCError
			? error
			: error instanceof DomainError
				? toTRPCError(error)
				: new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error });
	const status = getHTTPStatusCodeFromError(trpc);
	if (trpc.code === 'INTERNAL_SERVER_ERROR') {
		logger.error({ requestId, err: trpc.cause ?? trpc }, 'portal endpoint error');
		return jsonAnswer(500, {
			error: { code: trpc.code, message: 'Internal error; quote the x-request-id header.', requestId }
		});
	}
	const cause = trpc.cause;
	const fieldErrors: FieldErrors | undefined =
		cause instanceof ZodError
			? toFieldErrors(cause.issues)
			: cause instanceof ValidationFailed
				? cause.fieldErrors
				: undefined;
	const retryAfter = retryAfterOf(trpc);
	return jsonAnswer(
		status,
		{ error: { code: trpc.code, message: trpc.message, fieldErrors, requestId } },
		retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }
	);
}
