import { json } from '@sveltejs/kit';
import { checkReadiness } from '$lib/server/services/health.service';
import type { RequestHandler } from './$types';

/** Readiness: 200 only when the database answers and the models are loaded; 503 otherwise. */
export const GET: RequestHandler = async ({ locals }) => {
	const report = await checkReadiness(locals.core);
	return json(report, {
		status: report.status === 'ready' ? 200 : 503,
		headers: { 'cache-control': 'no-store' }
	});
};
