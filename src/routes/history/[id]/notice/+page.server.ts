import { error } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { callerFor } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

/** The printable adverse-action notice (audited as a data export, like the PDF). */
export const load: PageServerLoad = async (event) => {
	try {
		return { notice: await callerFor(event).predictions.notice({ predictionId: event.params.id }) };
	} catch (cause) {
		if (cause instanceof TRPCError && (cause.code === 'NOT_FOUND' || cause.code === 'BAD_REQUEST'))
			error(404, 'No such decision.');
		if (cause instanceof TRPCError && cause.code === 'CONFLICT') error(409, cause.message);
		throw cause;
	}
};
