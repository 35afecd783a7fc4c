import { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { ValidationFailed } from '$lib/server/errors';
import { callerFor } from '$lib/server/trpc/caller';
import { toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import type { PageServerLoad } from './$types';

const FIELDS = ['model', 'version', 'by', 'window', 'from', 'to', 'maturityMonths'] as const;
type Field = (typeof FIELDS)[number];

/**
 * Realised and estimated performance of one model's versions, by vintage or window: the figures of
 * `performance.get` (REST `GET /api/v1/models/{model}/performance`). A bad filter is shown as
 * field errors beside the form; the page never fails on it.
 */
export const load: PageServerLoad = async (event) => {
	const params = event.url.searchParams;
	const caller = callerFor(event);
	const models = await caller.models.list();
	const filters = Object.fromEntries(
		FIELDS.map((name) => [name, params.get(name)?.slice(0, 64) ?? ''])
	) as Record<Field, string>;
	filters.model ||= models[0]?.id ?? '';
	filters.by ||= 'vintage';
	filters.window ||= 'month';
	const input = {
		model: filters.model,
		by: filters.by as 'vintage',
		window: filters.window as 'month',
		...(filters.version ? { version: filters.version } : {}),
		...(filters.from ? { from: filters.from } : {}),
		...(filters.to ? { to: filters.to } : {}),
		...(filters.maturityMonths ? { maturityMonths: Number(filters.maturityMonths) } : {})
	};
	const options = models.map((m) => ({ id: m.id, name: m.name, versions: m.versions.map((v) => v.version) }));
	try {
		return { filters, options, fieldErrors: {}, performance: await caller.performance.get(input) };
	} catch (error) {
		const fieldErrors = fieldErrorsOf(error);
		if (!fieldErrors) throw error;
		return { filters, options, fieldErrors, performance: null };
	}
};

/** A refused filter's messages (400, or 404 for an unknown model or version), or null otherwise. */
function fieldErrorsOf(error: unknown): FieldErrors | null {
	if (error instanceof TRPCError && error.code === 'NOT_FOUND') return { model: [error.message] };
	const cause = error instanceof TRPCError ? error.cause : error;
	if (cause instanceof ZodError) return toFieldErrors(cause.issues);
	if (cause instanceof ValidationFailed) return cause.fieldErrors;
	return null;
}
