import { canOpen } from '$lib/server/auth/access';
import { globalView, modelCard } from '$lib/server/portal/model-page';
import { versionFor } from '$lib/server/portal/scoring-page';
import { callerFor } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const version = versionFor(event);
	const caller = callerFor(event);
	const family = (await caller.models.list()).find((m) => m.id === version.manifest.model.id);
	const visitor = { role: event.locals.principal?.role ?? null, stage: event.locals.authStage };
	return {
		...globalView(version),
		versions: family?.versions ?? [],
		card: await modelCard(version),
		canScore: canOpen('/score/[model]', visitor)
	};
};
