/**
 * Form actions: reading fields and turning a refused call into a field-level `fail()`, so a form
 * shows each message next to its field and never a stack trace.
 */
import { fail, type ActionFailure } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { ZodError } from 'zod';
import { DomainError, ValidationFailed, toTRPCError } from './errors';
import { toFieldErrors, type FieldErrors } from '../validation/field-errors';

/** What a failed action returns to its page. */
export interface FormProblem {
	/** Which form on the page failed, when there are several. */
	form?: string;
	message: string;
	fieldErrors: FieldErrors;
	/** Values to put back in the fields (never passwords or codes). */
	values?: Record<string, string>;
}

/** A text field of a form; '' when absent. */
export function field(data: FormData, name: string): string {
	const value = data.get(name);
	return typeof value === 'string' ? value : '';
}

/** A refusal with one message for the whole form (e.g. 429 after too many attempts). */
export function problem(
	status: number,
	message: string,
	extra: Omit<FormProblem, 'fieldErrors' | 'message'> = {}
): ActionFailure<FormProblem> {
	return fail(status, { ...extra, message, fieldErrors: {} });
}

/** A 400 with messages for some fields. */
export function invalid(
	fieldErrors: FieldErrors,
	extra: Omit<FormProblem, 'fieldErrors' | 'message'> & { message?: string } = {}
): ActionFailure<FormProblem> {
	return fail(400, {
		message: extra.message ?? 'Please correct the fields marked below.',
		...extra,
		fieldErrors
	});
}

/**
 * Converts the refusal of a procedure or service into `fail(status, …)` with field messages.
 * Unexpected errors are rethrown, for `handleError` to log and hide.
 */
export function refused(
	error: unknown,
	extra: Omit<FormProblem, 'fieldErrors' | 'message'> = {}
): ActionFailure<FormProblem> {
	const trpc = error instanceof DomainError ? toTRPCError(error) : error;
	if (!(trpc instanceof TRPCError) || trpc.code === 'INTERNAL_SERVER_ERROR') throw error;
	const cause = trpc.cause;
	const fieldErrors =
		cause instanceof ZodError
			? toFieldErrors(cause.issues)
			: cause instanceof ValidationFailed
				? cause.fieldErrors
				: {};
	const message =
		Object.keys(fieldErrors).length > 0 ? 'Please correct the fields marked below.' : trpc.message;
	return fail(getHTTPStatusCodeFromError(trpc), { ...extra, message, fieldErrors });
}
