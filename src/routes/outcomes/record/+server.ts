import { jsonAnswer, jsonProblem, readJsonBody } from '$lib/server/http/portal-json';
import { callerFor } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

/**
 * Records one chunk of an uploaded outcome file through `outcomes.record` (source `csv`). The page
 * sends the rows as outcomes already mapped from the file's columns; the procedure checks every row
 * and answers each one (a bad row is rejected on its own), or refuses the chunk with a field-level
 * 4xx when it is malformed.
 */
export const POST: RequestHandler = async (event) => {
	try {
		const body = await readJsonBody(event);
		const answer = await callerFor(event).outcomes.record({
			outcomes: body.outcomes as unknown[],
			source: 'csv'
		});
		return jsonAnswer(200, answer);
	} catch (error) {
		return jsonProblem(error, event.locals.requestId);
	}
};
