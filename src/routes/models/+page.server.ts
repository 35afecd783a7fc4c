import { field, invalid, refused } from '$lib/server/forms';
import { callerFor } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const caller = callerFor(event);
	return {
		models: await caller.models.list(),
		// The procedure checks the role again; this only decides whether to show the upload form.
		canUpload: event.locals.principal?.role === 'admin'
	};
};

export const actions: Actions = {
	/** Uploads a bundle archive: registered only if its manifest, checksum and golden rows hold. */
	upload: async (event) => {
		const data = await event.request.formData();
		const values = { reason: field(data, 'reason') };
		const file = data.get('archive');
		if (!(file instanceof File) || file.size === 0) {
			return invalid({ archive: ['Choose the bundle archive (tar or tar.gz).'] }, { form: 'upload', values });
		}
		try {
			const uploaded = await callerFor(event).models.upload({
				archive: Buffer.from(await file.arrayBuffer()).toString('base64'),
				reason: values.reason
			});
			return { form: 'upload', uploaded };
		} catch (cause) {
			return refused(cause, { form: 'upload', values });
		}
	}
};
