/**
 * The scoring workspace's server side: which model version a page shows, and its two form
 * actions — score (recorded, through `scoring.score`) and what-if (not recorded, through
 * `scoring.explain`). Both validate the form with the manifest's lenient form schema first, so
 * every bad field gets its own message, and answer the result panel's data.
 */
import { error, type RequestEvent } from '@sveltejs/kit';
import { ModelNotFound } from '../errors';
import { invalid, refused } from '../forms';
import { formTextOf } from '../services/applicant-form';
import type { ModelVersion } from '../services/models.service';
import { scoreOutcome } from '../services/score-view';
import { callerFor } from '../trpc/caller';
import { toFieldErrors, type FieldErrors } from '$lib/validation/field-errors';
import type { ScoreOutcome, ScoreView } from '$lib/scoring/types';

/** The version named by `?version=` (the champion without one), or a 404 page. */
export function versionFor(event: Pick<RequestEvent, 'params' | 'url' | 'locals'>): ModelVersion {
	const core = event.locals.core;
	const model = (event.params as { model?: string }).model ?? '';
	const version = event.url.searchParams.get('version') ?? undefined;
	try {
		return core.models.resolve(model, version);
	} catch (cause) {
		if (cause instanceof ModelNotFound) error(404, cause.message);
		throw cause;
	}
}

/** Field errors keyed by feature name (the services key them `applicant.<feature>`). */
function byFeature(errors: FieldErrors): FieldErrors {
	return Object.fromEntries(
		Object.entries(errors).map(([key, messages]) => [key.replace(/^applicant\./, ''), messages])
	);
}

/** Runs the score or what-if action of `/score/[model]`. */
export async function scoreAction(event: RequestEvent, kind: ScoreView['kind']) {
	const version = versionFor(event);
	const data = await event.request.formData();
	const values = formTextOf(version.manifest, data);
	const parsed = version.formSchema.safeParse(values);
	if (!parsed.success) return invalid(toFieldErrors(parsed.error.issues), { values, form: kind });
	const applicant = parsed.data;
	const given = data.get('applicationId');
	const reference = typeof given === 'string' ? given.trim() : '';
	const applicationId = reference === '' ? undefined : reference;
	const request = {
		model: version.manifest.model.id,
		version: version.manifest.model.version,
		applicant
	};
	try {
		const caller = callerFor(event);
		const result =
			kind === 'recorded'
				? await caller.scoring.score({ ...request, applicationId, explain: true })
				: await caller.scoring.explain(request);
		const core = event.locals.core;
		const outcome: ScoreOutcome = await scoreOutcome(core.counterfactuals, version, applicant, result, kind);
		return { outcome, values };
	} catch (cause) {
		const failure = refused(cause, { values, form: kind });
		failure.data.fieldErrors = byFeature(failure.data.fieldErrors);
		return failure;
	}
}
