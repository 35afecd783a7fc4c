import { canOpen, roleLabels } from '$lib/server/auth/access';
import { navigation } from '$lib/navigation';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ locals }) => {
	const visitor = { role: locals.principal?.role ?? null, stage: locals.authStage };
	return {
		viewer: locals.user
			? {
					name: locals.user.name,
					email: locals.user.email,
					role: locals.user.role,
					roleLabel: roleLabels[locals.user.role],
					signedIn: locals.authStage === 'active'
				}
			: null,
		links: navigation.filter((link) => canOpen(link.route, visitor))
	};
};
