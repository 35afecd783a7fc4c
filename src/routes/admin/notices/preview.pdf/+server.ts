import { fileResponse } from '$lib/server/http/file-answer';
import { jsonProblem } from '$lib/server/http/portal-json';
import { callerFor } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

/** A notice with made-up applicant data and the saved lender details, shown in the browser. */
export const GET: RequestHandler = async (event) => {
	try {
		return fileResponse(await callerFor(event).notices.preview(), 'inline');
	} catch (error) {
		return jsonProblem(error, event.locals.requestId);
	}
};
