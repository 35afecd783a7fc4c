import { formFieldsOf, sampleApplicants } from '$lib/server/services/applicant-form';
import { scoreAction, versionFor } from '$lib/server/portal/scoring-page';
import { callerFor } from '$lib/server/trpc/caller';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const version = versionFor(event);
	const { manifest } = version;
	const caller = callerFor(event);
	const family = (await caller.models.list()).find((m) => m.id === manifest.model.id);
	const samples = await sampleApplicants(version);
	const sample = samples.find((s) => s.id === event.url.searchParams.get('sample')) ?? null;
	return {
		model: {
			id: manifest.model.id,
			version: manifest.model.version,
			name: manifest.model.name,
			description: manifest.model.description,
			kind: manifest.model.kind,
			status: version.status
		},
		versions: family?.versions ?? [],
		/** The version named in the URL (null: the champion). */
		requestedVersion: event.url.searchParams.get('version'),
		fields: formFieldsOf(manifest),
		samples,
		sample: sample ? { id: sample.id, title: sample.title, values: sample.values } : null,
		policy: {
			cutoffs: manifest.policy.cutoffs,
			bands: manifest.policy.bands
		}
	};
};

export const actions: Actions = {
	score: (event) => scoreAction(event, 'recorded'),
	whatIf: (event) => scoreAction(event, 'what-if')
};
