import { MAX_FILE_BYTES } from '$lib/server/services/batch.service';
import { MAX_OUTCOME_ROWS, OUTCOME_CHUNK_ROWS } from '$lib/server/services/outcome-rows';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = () => ({
	limits: { rows: MAX_OUTCOME_ROWS, bytes: MAX_FILE_BYTES, chunkRows: OUTCOME_CHUNK_ROWS }
});
