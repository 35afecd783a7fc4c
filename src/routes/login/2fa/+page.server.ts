import { redirect } from '@sveltejs/kit';
import { field, invalid, problem } from '$lib/server/forms';
import { setCookie } from '$lib/server/auth/handles';
import { currentSession, nextPath, peopleAuth, requestMeta, startSession } from '$lib/server/auth/request';
import { stageOf } from '$lib/server/auth/access';
import { signOut, verifySecondFactor } from '$lib/server/services/auth.service';
import { getSecuritySettings } from '$lib/server/services/settings.service';
import type { Actions } from './$types';

export const actions: Actions = {
	verify: async (event) => {
		const current = currentSession(event);
		const code = field(await event.request.formData(), 'code').trim();
		if (!code) return invalid({ code: ['Enter the 6-digit code from your app, or a recovery code.'] });
		const auth = peopleAuth(event);
		const result = await verifySecondFactor(auth, current, code.slice(0, 64), requestMeta(event));
		if (!result.ok) {
			if (result.reason === 'locked')
				return problem(
					429,
					`Too many failed attempts. Try again in ${Math.ceil(result.retryAfterSeconds / 60)} minutes.`
				);
			return invalid({ code: ['That code is not right. Wait for the next code and try again.'] });
		}
		startSession(event, result.session);
		const { requireTwoFactor } = await getSecuritySettings(auth.db, auth.config);
		const stage = stageOf({
			user: current.user,
			session: result.session,
			requireTwoFactorForAll: requireTwoFactor
		});
		redirect(303, nextPath(stage, event.url));
	},
	/** Gives up on this sign-in: ends the half-open session. */
	cancel: async (event) => {
		const current = currentSession(event);
		const auth = peopleAuth(event);
		await signOut(auth, current, requestMeta(event));
		setCookie(event.cookies, auth.sessions.blankCookie());
		redirect(303, '/login');
	}
};
