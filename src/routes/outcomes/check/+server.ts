import { jsonAnswer, jsonProblem, readJsonBody } from '$lib/server/http/portal-json';
import { parseOutcomeChunk } from '$lib/server/services/outcome-rows';
import { callerFor } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

/**
 * Checks one chunk of an uploaded outcome file through `outcomes.check`: what recording it would
 * answer, row by row, without writing anything. A malformed chunk is a 400 with field errors.
 */
export const POST: RequestHandler = async (event) => {
	try {
		const { outcomes } = parseOutcomeChunk(await readJsonBody(event));
		return jsonAnswer(200, await callerFor(event).outcomes.check({ outcomes }));
	} catch (error) {
		return jsonProblem(error, event.locals.requestId);
	}
};
