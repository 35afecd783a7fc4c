/**
 * How a `file` procedure's answer (`FileOutput`: content type, name, base64) goes out over HTTP: the
 * raw bytes with the headers that make a browser save them under their name. Shared by the REST
 * API and the portal's download endpoints.
 */
import type { FileOutput } from '../trpc/trpc';

/** The bytes and headers of a file answer; `inline` lets a browser show it instead of saving it. */
export function fileAnswer(
	output: FileOutput,
	disposition: 'attachment' | 'inline' = 'attachment'
): { headers: Record<string, string>; body: Uint8Array<ArrayBuffer> } {
	return {
		headers: {
			'content-type': output.contentType,
			'content-disposition': `${disposition}; filename="${output.filename.replace(/["\\\r\n]/g, '')}"`,
			'cache-control': 'no-store',
			'x-content-type-options': 'nosniff'
		},
		body: Buffer.from(output.base64, 'base64')
	};
}

/** A file answer as a fetch `Response` (SvelteKit endpoints). */
export function fileResponse(
	output: FileOutput,
	disposition: 'attachment' | 'inline' = 'attachment'
): Response {
	const { headers, body } = fileAnswer(output, disposition);
	return new Response(body, { status: 200, headers });
}
