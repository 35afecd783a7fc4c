import { error } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { field, refused } from '$lib/server/forms';
import { noticeDecision } from '$lib/server/services/notices/notice-content';
import { callerFor } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const caller = callerFor(event);
	try {
		const prediction = await caller.history.get({ id: event.params.id });
		// Whether an adverse-action notice is due; reading it is a data export, done on its own pages.
		return { prediction, notice: noticeDecision(prediction.decision, prediction.reviews) };
	} catch (cause) {
		if (cause instanceof TRPCError && (cause.code === 'NOT_FOUND' || cause.code === 'BAD_REQUEST'))
			error(404, 'No such decision.');
		throw cause;
	}
};

export const actions: Actions = {
	/** Records a final decision beside the model's (append-only, audited). */
	review: async (event) => {
		const data = await event.request.formData();
		const values = { decision: field(data, 'decision'), reason: field(data, 'reason') };
		try {
			const review = await callerFor(event).reviews.record({
				predictionId: event.params.id,
				decision: values.decision as 'approve' | 'decline' | 'refer',
				reason: values.reason
			});
			return { form: 'review', review };
		} catch (cause) {
			return refused(cause, { form: 'review', values });
		}
	}
};
