import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';

/**
 * What the route guard answers (with status 403) in place of a page the visitor may not open, so
 * that the refusal renders inside the portal's frame and the refused page's own load never runs.
 */
export const load: PageServerLoad = () => error(403, 'You do not have access to this page.');
