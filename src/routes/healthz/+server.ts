import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

/** Liveness: the process serves HTTP. It never checks dependencies, so a slow database cannot get it killed. */
export const GET: RequestHandler = () => json({ status: 'ok' }, { headers: { 'cache-control': 'no-store' } });
