import { roleLabels } from '$lib/server/auth/access';
import { currentSession, peopleAuth } from '$lib/server/auth/request';
import { twoFactorStatus } from '$lib/server/services/auth.service';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { user, session } = currentSession(event);
	const status = await twoFactorStatus(peopleAuth(event), user.id);
	return {
		profile: { name: user.name, email: user.email, role: roleLabels[user.role] },
		twoFactor: status,
		session: { createdAt: session.createdAt, expiresAt: session.expiresAt }
	};
};
