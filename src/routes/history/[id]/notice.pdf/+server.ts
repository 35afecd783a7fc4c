import { fileResponse } from '$lib/server/http/file-answer';
import { jsonProblem } from '$lib/server/http/portal-json';
import { callerFor } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

/** The adverse-action notice of a declined or referred decision, as a PDF download (audited). */
export const GET: RequestHandler = async (event) => {
	try {
		return fileResponse(await callerFor(event).predictions.noticePdf({ predictionId: event.params.id }));
	} catch (error) {
		return jsonProblem(error, event.locals.requestId);
	}
};
