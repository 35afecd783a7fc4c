import { randomUUID } from 'node:crypto';
import { apiHandlerFor } from '$lib/server/http/api';
import type { RestResponse } from '$lib/server/http/rest';
import type { Core } from '$lib/server/core-types';
import type { ServiceAccountRole } from '$lib/server/services/service-accounts.service';

const admin = { kind: 'user', id: 'test-admin', name: 'Test admin', role: 'admin' } as const;

export interface ApiCall {
	method?: string;
	path: string;
	body?: string | object;
	headers?: Record<string, string>;
	token?: string;
}

export interface ApiAnswer extends RestResponse {
	json: unknown;
}

/** Calls `/api/v1` in-process through the same function the HTTP adapters use. */
export function apiClient(core: Core): (call: ApiCall) => Promise<ApiAnswer> {
	const handler = apiHandlerFor(core);
	return async ({ method = 'GET', path, body, headers = {}, token }) => {
		const [pathname = '', query = ''] = path.split('?');
		const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
		const response = await handler({
			method,
			path: pathname,
			query: new URLSearchParams(query),
			headers: {
				...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
				...(token ? { authorization: `Bearer ${token}` } : {}),
				...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
			},
			body: text,
			ip: '127.0.0.1',
			requestId: randomUUID()
		});
		let json: unknown = null;
		if (typeof response.body === 'string') {
			try {
				json = response.body ? JSON.parse(response.body) : null;
			} catch {
				json = response.body;
			}
		}
		return { ...response, json };
	};
}

/** Creates a real service account and exchanges its credentials for a real access token. */
export async function serviceToken(
	core: Core,
	name: string,
	role: ServiceAccountRole = 'scorer'
): Promise<string> {
	const created = await core.auth.serviceAccounts.create(admin, { name, role });
	const response = await apiClient(core)({
		method: 'POST',
		path: '/oauth/token',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({
			grant_type: 'client_credentials',
			client_id: created.clientId,
			client_secret: created.clientSecret
		}).toString()
	});
	const token = (response.json as { access_token?: string }).access_token;
	if (!token) throw new Error(`token exchange failed: ${response.status} ${String(response.body)}`);
	return token;
}
