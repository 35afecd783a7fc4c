import { templateCsv } from '../outcome-file';
import type { RequestHandler } from './$types';

/** The CSV template of an outcome upload: the header the page reads, and one example row. */
export const GET: RequestHandler = () =>
	new Response(templateCsv(), {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': 'attachment; filename="outcomes-template.csv"'
		}
	});
