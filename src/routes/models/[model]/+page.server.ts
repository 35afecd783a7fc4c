import { canOpen } from '$lib/server/auth/access';
import { field, refused } from '$lib/server/forms';
import { globalView, modelCard } from '$lib/server/portal/model-page';
import { versionFor } from '$lib/server/portal/scoring-page';
import { callerFor } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const version = versionFor(event);
	const caller = callerFor(event);
	const family = (await caller.models.list()).find((m) => m.id === version.manifest.model.id);
	const visitor = { role: event.locals.principal?.role ?? null, stage: event.locals.authStage };
	return {
		...globalView(version),
		versions: family?.versions ?? [],
		registry: {
			champion: family?.champion ?? null,
			previousChampion: family?.previousChampion ?? null,
			generation: family?.generation ?? 0
		},
		card: await modelCard(version),
		canScore: canOpen('/score/[model]', visitor),
		canCompare: canOpen('/models/[model]/shadow', visitor),
		inShadow: family?.versions.find((v) => v.status === 'shadow')?.version ?? null,
		// The procedures check the role again; this only decides whether to show the controls.
		canManage: event.locals.principal?.role === 'admin'
	};
};

/** The generation the admin saw, so that a change made meanwhile by someone else is a 409. */
function generationOf(data: FormData): number | undefined {
	const text = field(data, 'expectedGeneration');
	return /^\d+$/.test(text) ? Number(text) : undefined;
}

export const actions: Actions = {
	/** Makes a version the champion on every instance (audited, with the reason). */
	promote: async (event) => {
		const data = await event.request.formData();
		const values = { version: field(data, 'version'), reason: field(data, 'reason') };
		try {
			const change = await callerFor(event).models.promote({
				model: event.params.model,
				version: values.version,
				reason: values.reason,
				expectedGeneration: generationOf(data)
			});
			return { form: 'promote', change };
		} catch (cause) {
			return refused(cause, { form: 'promote', values });
		}
	},
	/** Puts a registered version or a challenger into shadow (audited, with the reason). */
	shadow: async (event) => {
		const data = await event.request.formData();
		const values = { version: field(data, 'version'), reason: field(data, 'reason') };
		try {
			const change = await callerFor(event).models.shadow({
				model: event.params.model,
				version: values.version,
				reason: values.reason,
				expectedGeneration: generationOf(data)
			});
			return { form: 'shadow', shadowChange: change };
		} catch (cause) {
			return refused(cause, { form: 'shadow', values });
		}
	},
	/** Takes the version in shadow out of it, back to its earlier state. */
	unshadow: async (event) => {
		const data = await event.request.formData();
		const values = { reason: field(data, 'reason') };
		try {
			const change = await callerFor(event).models.unshadow({
				model: event.params.model,
				reason: values.reason,
				expectedGeneration: generationOf(data)
			});
			return { form: 'unshadow', shadowChange: change };
		} catch (cause) {
			return refused(cause, { form: 'unshadow', values });
		}
	},
	/** Restores the previous champion; the version rolled back is retired. */
	rollback: async (event) => {
		const data = await event.request.formData();
		const values = { reason: field(data, 'reason') };
		try {
			const change = await callerFor(event).models.rollback({
				model: event.params.model,
				reason: values.reason,
				expectedGeneration: generationOf(data)
			});
			return { form: 'rollback', change };
		} catch (cause) {
			return refused(cause, { form: 'rollback', values });
		}
	}
};
