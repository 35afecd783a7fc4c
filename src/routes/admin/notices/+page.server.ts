import { field, refused } from '$lib/server/forms';
import { callerFor } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => ({
	settings: await callerFor(event).notices.settings()
});

export const actions: Actions = {
	/** Saves the lender's details printed on every adverse-action notice (audited). */
	save: async (event) => {
		const data = await event.request.formData();
		const values = {
			lenderName: field(data, 'lenderName'),
			address: field(data, 'address'),
			contact: field(data, 'contact'),
			statementOfRights: field(data, 'statementOfRights'),
			paperSize: field(data, 'paperSize')
		};
		try {
			await callerFor(event).notices.updateSettings({
				...values,
				paperSize: values.paperSize as 'LETTER' | 'A4'
			});
			return { saved: true };
		} catch (error) {
			return refused(error, { values });
		}
	}
};
