import { ValidationFailed } from '$lib/server/errors';
import { fileResponse } from '$lib/server/http/file-answer';
import { jsonProblem } from '$lib/server/http/portal-json';
import { callerFor } from '$lib/server/trpc/caller';
import type { RequestHandler } from './$types';

const formats = ['html', 'pdf', 'csv'] as const;

/**
 * A completed report as a download: `<id>.html`, `<id>.pdf` or `<id>.csv`. Another format is a
 * 400 naming `format`, an unknown report a 404, one not completed a 409.
 */
export const GET: RequestHandler = async (event) => {
	try {
		const format = formats.find((value) => value === event.params.format);
		if (!format) throw new ValidationFailed({ format: ['The format must be html, pdf or csv.'] });
		const caller = callerFor(event).reports;
		const input = { id: event.params.id };
		const file = await (format === 'html'
			? caller.html(input)
			: format === 'pdf'
				? caller.pdf(input)
				: caller.csv(input));
		return fileResponse(file);
	} catch (problem) {
		return jsonProblem(problem, event.locals.requestId);
	}
};
