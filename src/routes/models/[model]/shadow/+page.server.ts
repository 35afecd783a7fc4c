import { error } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { ValidationFailed } from '$lib/server/errors';
import { callerFor } from '$lib/server/trpc/caller';
import { toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import type { PageServerLoad } from './$types';

const WINDOWS = ['hour', 'day', 'week'] as const;

/**
 * How the version in shadow compares with the champion: every figure is
 * `models.shadowComparison`'s (REST `GET /api/v1/models/{model}/shadow`). A bad window is shown as
 * field errors beside the form; a model without a version in shadow (and none named) as a notice.
 */
export const load: PageServerLoad = async (event) => {
	const params = event.url.searchParams;
	const caller = callerFor(event);
	const family = (await caller.models.list()).find((m) => m.id === event.params.model);
	if (!family) error(404, `No model "${event.params.model}".`);
	const from = params.get('from')?.slice(0, 64) ?? '';
	const to = params.get('to')?.slice(0, 64) ?? '';
	const window = WINDOWS.find((w) => w === params.get('window')) ?? (from || to ? undefined : 'week');
	const filters = { version: params.get('version')?.slice(0, 64) ?? '', window: window ?? '', from, to };
	const base = {
		model: { id: family.id, name: family.name, champion: family.champion },
		versions: family.versions.map((v) => ({ version: v.version, status: v.status })),
		filters
	};
	try {
		const comparison = await caller.models.shadowComparison({
			model: family.id,
			...(filters.version ? { version: filters.version } : {}),
			...(window ? { window } : {}),
			...(from ? { from } : {}),
			...(to ? { to } : {})
		});
		return { ...base, comparison, fieldErrors: {}, notice: null };
	} catch (cause) {
		if (cause instanceof TRPCError && cause.code === 'CONFLICT') {
			return { ...base, comparison: null, fieldErrors: {}, notice: cause.message };
		}
		const fieldErrors = fieldErrorsOf(cause);
		if (!fieldErrors) throw cause;
		return { ...base, comparison: null, fieldErrors, notice: null };
	}
};

/** A refused filter's messages (400, or 404 for an unknown version), or null otherwise. */
function fieldErrorsOf(cause: unknown): FieldErrors | null {
	if (cause instanceof TRPCError && cause.code === 'NOT_FOUND') return { version: [cause.message] };
	const inner = cause instanceof TRPCError ? cause.cause : cause;
	if (inner instanceof ZodError) return toFieldErrors(inner.issues);
	if (inner instanceof ValidationFailed) return inner.fieldErrors;
	return null;
}
