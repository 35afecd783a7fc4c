import Papa from 'papaparse';
import { jsonProblem } from '$lib/server/http/portal-json';
import {
	auditHistoryExport,
	HISTORY_CSV_COLUMNS,
	historyCsvRecord,
	matchingPredictions,
	parseHistoryQuery
} from '$lib/server/services/history.service';
import { createContext } from '$lib/server/trpc/trpc';
import type { RequestHandler } from './$types';

const FILTERS = ['from', 'to', 'decision', 'band', 'model', 'version', 'requester', 'q'] as const;

/**
 * The decisions matching the history page's filters as a CSV download, newest first, at most
 * 100,000 rows, streamed a page at a time (audited as a data export). Bad filters are a 400 with
 * a message per field.
 */
export const GET: RequestHandler = async (event) => {
	const context = createContext(event);
	const query = Object.fromEntries(
		FILTERS.flatMap((name) => {
			const value = event.url.searchParams.get(name)?.slice(0, 400) ?? '';
			return value === '' ? [] : [[name, value]];
		})
	);
	try {
		if (!context.principal) throw new Error('the route guard lets only signed-in people here');
		const filters = parseHistoryQuery(query);
		const pages = matchingPredictions(context.core.database.db, filters);
		// The first page is read before answering, so that an unknown requester is still a 400.
		const first = await pages.next();
		await auditHistoryExport(context.core.database.db, context.principal, query, context);
		const encoder = new TextEncoder();
		// Cells starting with = + - @ are quoted with a leading ' so a spreadsheet shows, not runs, them.
		const csv = (rows: (string | number)[][], header: boolean) =>
			Papa.unparse(header ? [[...HISTORY_CSV_COLUMNS], ...rows] : rows, {
				escapeFormulae: true,
				newline: '\r\n'
			}) + '\r\n';
		const body = new ReadableStream<Uint8Array>({
			start(controller) {
				const rows = first.done ? [] : first.value.map(historyCsvRecord);
				controller.enqueue(encoder.encode(csv(rows, true)));
			},
			async pull(controller) {
				const next = await pages.next();
				if (next.done) controller.close();
				else controller.enqueue(encoder.encode(csv(next.value.map(historyCsvRecord), false)));
			},
			async cancel() {
				await pages.return(undefined);
			}
		});
		const day = new Date().toISOString().slice(0, 10);
		return new Response(body, {
			headers: {
				'content-type': 'text/csv; charset=utf-8',
				'content-disposition': `attachment; filename="credible-history-${day}.csv"`,
				'cache-control': 'no-store'
			}
		});
	} catch (error) {
		return jsonProblem(error, event.locals.requestId);
	}
};
