import { redirect } from '@sveltejs/kit';
import { field, invalid, problem } from '$lib/server/forms';
import { nextPath, peopleAuth, requestMeta, startSession } from '$lib/server/auth/request';
import { SIGN_IN_REFUSED, signIn } from '$lib/server/services/auth.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
	// Already signed in, or part-way: carry on from where the session is.
	if (locals.authStage) redirect(303, nextPath(locals.authStage, url));
	return {};
};

export const actions: Actions = {
	default: async (event) => {
		const data = await event.request.formData();
		const email = field(data, 'email').trim();
		const password = field(data, 'password');
		const fieldErrors: Record<string, string[]> = {};
		if (!email) fieldErrors.email = ['Enter your e-mail address.'];
		if (!password) fieldErrors.password = ['Enter your password.'];
		if (Object.keys(fieldErrors).length > 0) return invalid(fieldErrors, { values: { email } });

		const result = await signIn(
			peopleAuth(event),
			{ email, password: password.slice(0, 1024), previousSessionId: event.locals.session?.id },
			requestMeta(event)
		);
		if (!result.ok) {
			const message =
				result.reason === 'locked'
					? `Too many failed attempts. Try again in ${describeWait(result.retryAfterSeconds)}.`
					: SIGN_IN_REFUSED;
			return problem(result.reason === 'locked' ? 429 : 400, message, { values: { email } });
		}
		startSession(event, result.session);
		redirect(303, nextPath(result.stage, event.url));
	}
};

function describeWait(seconds: number): string {
	if (seconds < 90) return `${seconds} seconds`;
	return `${Math.ceil(seconds / 60)} minutes`;
}
