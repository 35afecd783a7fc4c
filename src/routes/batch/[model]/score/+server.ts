import { ValidationFailed } from '$lib/server/errors';
import { jsonAnswer, jsonProblem, readJsonBody } from '$lib/server/http/portal-json';
import { checkChunk, parseChunk, rowFieldErrors } from '$lib/server/services/batch.service';
import { callerFor } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

/**
 * Scores one chunk of checked rows through the scoring procedure (recorded with channel `batch`).
 * Any bad row refuses the whole chunk with 400 and field errors keyed `rows.<row>.<field>`: the page
 * sends only rows that passed the check, so a bad one here means the file changed in between.
 */
export const POST: RequestHandler = async (event) => {
	try {
		const chunk = parseChunk(await readJsonBody(event));
		const version = event.locals.core.models.resolve(event.params.model, chunk.version);
		const { valid, errors } = checkChunk(version, chunk);
		if (errors.length > 0)
			throw new ValidationFailed(rowFieldErrors(errors), 'Some rows have invalid fields.');
		const caller = callerFor(event);
		const batch = await caller.scoring.scoreBatch({
			model: version.manifest.model.id,
			version: version.manifest.model.version,
			applicants: valid.map((v) => v.applicant),
			applicationIds: valid.map((v) => v.applicationId)
		});
		const results = batch.results.map((result) => {
			const row = valid[result.index]?.row ?? 0;
			if (!result.ok) return { row, ok: false as const, fieldErrors: result.fieldErrors };
			return {
				row,
				ok: true as const,
				predictionId: result.predictionId,
				probability: result.probability,
				points: result.points,
				band: result.band.name,
				decision: result.decision,
				reasons: result.reasons.map((reason) => ({ code: reason.code, text: reason.text }))
			};
		});
		return jsonAnswer(200, { batchId: batch.batchId, model: batch.model, summary: batch.summary, results });
	} catch (error) {
		return jsonProblem(error, event.locals.requestId);
	}
};
