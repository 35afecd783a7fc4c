import { jsonAnswer, jsonProblem, readJsonBody } from '$lib/server/http/portal-json';
import { parseOutcomeChunk } from '$lib/server/services/outcome-rows';
import { callerFor } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

/**
 * Records one chunk of an uploaded outcome file through `outcomes.record`, with source `csv`. The
 * page sends the rows already mapped from the file's columns; every row gets its own answer (a bad
 * row is rejected on its own). A malformed chunk is a 400 with field errors.
 */
export const POST: RequestHandler = async (event) => {
	try {
		const { outcomes } = parseOutcomeChunk(await readJsonBody(event));
		const answer = await callerFor(event).outcomes.record({ outcomes, source: 'csv' });
		return jsonAnswer(200, answer);
	} catch (error) {
		return jsonProblem(error, event.locals.requestId);
	}
};
