import { jsonAnswer, jsonProblem, readJsonBody } from '$lib/server/http/portal-json';
import { checkChunk, parseChunk } from '$lib/server/services/batch.service';
import type { RequestHandler } from './$types';

/**
 * Checks one chunk of a CSV without scoring it: 200 with every bad cell (row, field, messages);
 * 400 when the request or the header is malformed, 404 for an unknown model.
 */
export const POST: RequestHandler = async (event) => {
	try {
		const chunk = parseChunk(await readJsonBody(event));
		const version = event.locals.core.models.resolve(event.params.model, chunk.version);
		const { valid, errors, passedThrough } = checkChunk(version, chunk);
		return jsonAnswer(200, {
			model: { id: version.manifest.model.id, version: version.manifest.model.version },
			rows: chunk.rows.length,
			valid: valid.length,
			errors,
			passedThrough
		});
	} catch (error) {
		return jsonProblem(error, event.locals.requestId);
	}
};
