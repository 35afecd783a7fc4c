import type { RequestHandler } from './$types';

/** Swagger UI for the REST API, served from the `swagger-ui-dist` package (no external service). */
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>Credible API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css" />
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>`;

export const GET: RequestHandler = () =>
	new Response(page, {
		headers: {
			'content-type': 'text/html; charset=utf-8',
			// Swagger UI sets inline styles; scripts stay same-origin only.
			'content-security-policy':
				"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"
		}
	});
