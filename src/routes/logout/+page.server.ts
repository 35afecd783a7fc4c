import { redirect } from '@sveltejs/kit';
import { setCookie } from '$lib/server/auth/handles';
import { currentSession, peopleAuth, requestMeta } from '$lib/server/auth/request';
import { signOut } from '$lib/server/services/auth.service';
import type { Actions } from './$types';

export const actions: Actions = {
	default: async (event) => {
		const auth = peopleAuth(event);
		await signOut(auth, currentSession(event), requestMeta(event));
		setCookie(event.cookies, auth.sessions.blankCookie());
		redirect(303, '/login');
	}
};
