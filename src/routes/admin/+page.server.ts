import { field, refused } from '$lib/server/forms';
import { callerFor } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const caller = callerFor(event);
	return { settings: await caller.security.settings() };
};

export const actions: Actions = {
	requireTwoFactor: async (event) => {
		const value = field(await event.request.formData(), 'value') === 'on';
		try {
			await callerFor(event).security.setRequireTwoFactor({ value });
			return { saved: true };
		} catch (error) {
			return refused(error);
		}
	}
};
