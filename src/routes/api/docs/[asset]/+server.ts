import { error } from '@sveltejs/kit';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RequestHandler } from './$types';

const require = createRequire(import.meta.url);
const assets: Record<string, string> = {
	'swagger-ui.css': 'text/css; charset=utf-8',
	'swagger-ui-bundle.js': 'text/javascript; charset=utf-8'
};

const init = `window.ui = SwaggerUIBundle({
	url: '/api/v1/openapi.json',
	dom_id: '#swagger-ui',
	deepLinking: true,
	persistAuthorization: true
});`;

export const GET: RequestHandler = async ({ params }) => {
	if (params.asset === 'init.js') {
		return new Response(init, { headers: { 'content-type': 'text/javascript; charset=utf-8' } });
	}
	const type = assets[params.asset];
	if (!type) error(404, 'Not found');
	const dir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
	const body = await readFile(path.join(dir, params.asset));
	return new Response(body, { headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' } });
};
