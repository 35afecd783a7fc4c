import { jsonProblem } from '$lib/server/http/portal-json';
import { templateCsv } from '$lib/server/services/batch.service';
import type { RequestHandler } from './$types';

/** The CSV template of a model (its champion, or `?version=`): header and one example row. */
export const GET: RequestHandler = async ({ params, url, locals }) => {
	try {
		const version = locals.core.models.resolve(params.model, url.searchParams.get('version') ?? undefined);
		const { id, version: name } = version.manifest.model;
		return new Response(await templateCsv(version), {
			headers: {
				'content-type': 'text/csv; charset=utf-8',
				'content-disposition': `attachment; filename="${id}-${name}-template.csv"`
			}
		});
	} catch (error) {
		return jsonProblem(error, locals.requestId);
	}
};
