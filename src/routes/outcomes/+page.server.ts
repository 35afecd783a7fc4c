import { MAX_FILE_BYTES } from '$lib/server/services/batch.service';
import { MAX_OUTCOME_ROWS } from '$lib/server/services/outcome-rows';
import type { PageServerLoad } from './$types';

/** Rows sent per request: small enough to show progress, large enough to be few requests. */
const CHUNK_ROWS = 1_000;

export const load: PageServerLoad = () => ({
	limits: { rows: MAX_OUTCOME_ROWS, bytes: MAX_FILE_BYTES, chunkRows: CHUNK_ROWS }
});
