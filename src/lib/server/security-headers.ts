/**
 * The security headers every answer carries: portal pages through SvelteKit's handle
 * (`auth/handles.ts`), and what the Node fast path serves itself (`/api/v1`, services' `/trpc`
 * calls, `/metrics`), which no SvelteKit handle sees.
 */
import type { ServerResponse } from 'node:http';

const PERMISSIONS_POLICY = [
	'accelerometer=()',
	'camera=()',
	'geolocation=()',
	'gyroscope=()',
	'magnetometer=()',
	'microphone=()',
	'payment=()',
	'usb=()'
].join(', ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'same-origin',
	'x-frame-options': 'DENY',
	'cross-origin-opener-policy': 'same-origin',
	'permissions-policy': PERMISSIONS_POLICY
});

/** The policy of an answer that is not a page (JSON, metrics, errors): nothing may run or embed it. */
export const NO_CONTENT_CSP = "default-src 'none'; frame-ancestors 'none'";

/** Sets the headers on a Node response before it is written (`writeHead` keeps them). */
export function setSecurityHeaders(res: ServerResponse): void {
	for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
	res.setHeader('content-security-policy', NO_CONTENT_CSP);
}
