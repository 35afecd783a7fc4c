import { error } from '@sveltejs/kit';
import { roleLabels, rolesFor } from '$lib/server/auth/access';
import type { PageServerLoad } from './$types';

/**
 * What the route guard answers (with status 403) in place of a page the visitor may not open, so
 * that the refusal renders inside the portal's frame and the refused page's own load never runs.
 * The guard names the refused route (`?route=`): the message says which roles may open it.
 */
export const load: PageServerLoad = ({ url, locals }) => {
	const roles = rolesFor(url.searchParams.get('route') ?? '');
	const role = locals.principal?.role;
	if (!roles || !role) error(403, 'You do not have access to this page.');
	const names = roles.map((r) => roleLabels[r].toLowerCase() + 's');
	const who = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0];
	const mine = roleLabels[role].toLowerCase();
	error(
		403,
		`You do not have access to this page: it is for ${who}, and you are signed in as ${/^[aeiou]/.test(mine) ? 'an' : 'a'} ${mine}.`
	);
};
