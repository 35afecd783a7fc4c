import { redirect } from '@sveltejs/kit';
import { field, invalid, refused } from '$lib/server/forms';
import { currentSession, nextPath, peopleAuth, requestMeta, startSession } from '$lib/server/auth/request';
import { PASSWORD_MIN_LENGTH } from '$lib/server/auth/password';
import { stageOf } from '$lib/server/auth/access';
import { changePassword } from '$lib/server/services/auth.service';
import { getSecuritySettings } from '$lib/server/services/settings.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => ({
	forced: locals.authStage === 'change_password',
	email: locals.user?.email ?? '',
	minLength: PASSWORD_MIN_LENGTH
});

export const actions: Actions = {
	default: async (event) => {
		const current = currentSession(event);
		const data = await event.request.formData();
		const currentPassword = field(data, 'currentPassword');
		const newPassword = field(data, 'newPassword');
		const confirmPassword = field(data, 'confirmPassword');
		const fieldErrors: Record<string, string[]> = {};
		if (!currentPassword) fieldErrors.currentPassword = ['Enter your current password.'];
		if (!newPassword) fieldErrors.newPassword = ['Choose a new password.'];
		else if (newPassword !== confirmPassword) fieldErrors.confirmPassword = ['The two new passwords differ.'];
		if (Object.keys(fieldErrors).length > 0) return invalid(fieldErrors);

		const auth = peopleAuth(event);
		let session;
		try {
			session = await changePassword(
				auth,
				current,
				{ currentPassword: currentPassword.slice(0, 1024), newPassword },
				requestMeta(event)
			);
		} catch (error) {
			return refused(error);
		}
		startSession(event, session);
		const { requireTwoFactor } = await getSecuritySettings(auth.db, auth.config);
		const user = { ...current.user, mustChangePassword: false };
		const stage = stageOf({ user, session, requireTwoFactorForAll: requireTwoFactor });
		// A forced change continues the sign-in; a voluntary one stays here with a confirmation.
		if (event.locals.authStage !== 'active' || stage !== 'active') redirect(303, nextPath(stage, event.url));
		return { changed: true };
	}
};
