import { callerFor } from '$lib/server/trpc/caller';
import { MAX_CHUNK_ROWS, MAX_FILE_BYTES, MAX_FILE_ROWS } from '$lib/server/services/batch.service';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const models = await callerFor(event).models.list();
	return {
		models: models.map((model) => ({
			id: model.id,
			name: model.name,
			champion: model.champion,
			versions: model.versions.map((v) => ({ version: v.version, status: v.status }))
		})),
		limits: { rows: MAX_FILE_ROWS, bytes: MAX_FILE_BYTES, chunkRows: MAX_CHUNK_ROWS }
	};
};
