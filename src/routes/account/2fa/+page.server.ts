import { field, invalid, refused } from '$lib/server/forms';
import { currentSession, nextPath, peopleAuth, requestMeta, startSession } from '$lib/server/auth/request';
import {
	beginEnrolment,
	confirmEnrolment,
	disableOwnTwoFactor,
	regenerateRecoveryCodes,
	twoFactorStatus
} from '$lib/server/services/auth.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const current = currentSession(event);
	const auth = peopleAuth(event);
	const status = await twoFactorStatus(auth, current.user.id);
	const forced = event.locals.authStage === 'enrol_two_factor';
	if (status.enabled) return { ...status, forced, enrolment: null };
	// Idempotent: the pending key is kept until confirmed, so a reload shows the same QR code.
	const { qrCode, manualKey } = await beginEnrolment(auth, current);
	return { ...status, forced, enrolment: { qrCode, manualKey, account: current.user.email } };
};

const CODE_MISSING = { code: ['Enter the 6-digit code from your app.'] };

export const actions: Actions = {
	enrol: async (event) => {
		const current = currentSession(event);
		const code = field(await event.request.formData(), 'code').trim();
		if (!code) return invalid(CODE_MISSING, { form: 'enrol' });
		try {
			const { session, recoveryCodes } = await confirmEnrolment(
				peopleAuth(event),
				current,
				code.slice(0, 64),
				requestMeta(event)
			);
			startSession(event, session);
			return { form: 'enrol', recoveryCodes, next: nextPath('active', event.url) };
		} catch (error) {
			return refused(error, { form: 'enrol' });
		}
	},
	regenerate: async (event) => {
		const current = currentSession(event);
		const code = field(await event.request.formData(), 'code').trim();
		if (!code) return invalid(CODE_MISSING, { form: 'regenerate' });
		try {
			const recoveryCodes = await regenerateRecoveryCodes(
				peopleAuth(event),
				current,
				code.slice(0, 64),
				requestMeta(event)
			);
			return { form: 'regenerate', recoveryCodes, next: null };
		} catch (error) {
			return refused(error, { form: 'regenerate' });
		}
	},
	disable: async (event) => {
		const current = currentSession(event);
		const code = field(await event.request.formData(), 'code').trim();
		if (!code) return invalid(CODE_MISSING, { form: 'disable' });
		try {
			await disableOwnTwoFactor(peopleAuth(event), current, code.slice(0, 64), requestMeta(event));
			return { form: 'disable', disabled: true };
		} catch (error) {
			return refused(error, { form: 'disable' });
		}
	}
};
