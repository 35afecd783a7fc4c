import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { desc, eq } from 'drizzle-orm';
import { auditLog, serviceAccounts } from '$lib/server/db/schema';
import { createApiAuth, type ApiAuth } from '$lib/server/auth/api-auth';
import { authenticateBearer } from '$lib/server/auth/bearer';
import { handleTokenRequest, type TokenRequest } from '$lib/server/auth/token-endpoint';
import {
	hashClientSecret,
	ManagementForbidden,
	ServiceAccountExists,
	ServiceAccountNotFound,
	type Actor
} from '$lib/server/services/service-accounts.service';
import { ValidationFailed } from '$lib/server/errors';
import type { Principal } from '$lib/server/auth/principal';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';

const cli: Actor = { kind: 'system', id: 'cli', name: 'cli:test' };
const admin: Principal = { kind: 'user', id: 'u-admin', name: 'Ada Admin', role: 'admin' };
const config = {
	NODE_ENV: 'test',
	JWT_SECRET: 'test-secret-'.padEnd(48, 'x'),
	JWT_TTL_SECONDS: 900,
	AUTH_CACHE_SECONDS: 5
} as const;

describe.each(testDatabaseKinds())('service accounts and tokens on %s', (kind) => {
	let database: TestDatabase;
	let now: number;
	let auth: ApiAuth;
	let seq = 0;
	const clock = () => now;
	const uniqueName = (base: string) => `${base}-${++seq}`;

	beforeAll(async () => {
		database = await openTestDatabase(kind);
	});
	afterAll(async () => {
		await database.dispose();
	});
	beforeEach(() => {
		now = Date.now();
		auth = createApiAuth({ db: database.db, config, now: clock });
	});

	async function createAccount(role: 'scorer' | 'viewer' = 'scorer') {
		return auth.serviceAccounts.create(cli, { name: uniqueName('svc'), role });
	}

	function tokenRequest(body: string | Record<string, unknown>, extra: Partial<TokenRequest> = {}) {
		const json = typeof body !== 'string';
		return handleTokenRequest(auth, {
			contentType: json ? 'application/json' : 'application/x-www-form-urlencoded',
			body: json ? JSON.stringify(body) : body,
			ip: '203.0.113.7',
			requestId: `req-${++seq}`,
			...extra
		});
	}

	const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

	describe('managing accounts', () => {
		it('should create an account and return its client id and secret once', async () => {
			const created = await createAccount();
			expect(created.clientId).toMatch(/^svc_[0-9a-f]{24}$/);
			expect(Buffer.from(created.clientSecret, 'base64url')).toHaveLength(32);
			expect(created.account).toMatchObject({ role: 'scorer', revokedAt: null, createdBy: 'system:cli' });
			expect(created.account).not.toHaveProperty('secretHash');
		});

		it('should never store the secret in clear, only its SHA-256', async () => {
			const created = await createAccount();
			const [row] = await database.db
				.select()
				.from(serviceAccounts)
				.where(eq(serviceAccounts.id, created.account.id));
			expect(row?.secretHash).toBe(hashClientSecret(created.clientSecret));
			expect(JSON.stringify(row)).not.toContain(created.clientSecret);
			const audits = await database.db.select().from(auditLog);
			expect(JSON.stringify(audits)).not.toContain(created.clientSecret);
		});

		it('should refuse a taken name, a bad name and the admin role', async () => {
			const created = await createAccount();
			await expect(auth.serviceAccounts.create(cli, { name: created.account.name })).rejects.toBeInstanceOf(
				ServiceAccountExists
			);
			const invalid = await auth.serviceAccounts
				.create(cli, { name: 'Not OK!', role: 'admin' as never })
				.catch((error: unknown) => error);
			expect(invalid).toBeInstanceOf(ValidationFailed);
			expect(Object.keys((invalid as ValidationFailed).fieldErrors).sort()).toEqual(['name', 'role']);
		});

		it('should let an admin and the CLI manage accounts, and nobody else', async () => {
			await expect(
				auth.serviceAccounts.create(admin, { name: uniqueName('by-admin') })
			).resolves.toBeDefined();
			for (const actor of [
				{ ...admin, role: 'risk_manager' },
				{ kind: 'service', id: 'x', name: 'x', role: 'scorer' }
			] as Principal[]) {
				await expect(auth.serviceAccounts.list(actor)).rejects.toBeInstanceOf(ManagementForbidden);
				await expect(auth.serviceAccounts.create(actor, { name: uniqueName('nope') })).rejects.toBeInstanceOf(
					ManagementForbidden
				);
				await expect(auth.serviceAccounts.revoke(actor, 'anything')).rejects.toBeInstanceOf(
					ManagementForbidden
				);
			}
		});

		it('should list accounts without secrets, and only active ones on request', async () => {
			const kept = await createAccount();
			const gone = await createAccount();
			await auth.serviceAccounts.revoke(cli, gone.account.name);
			const all = await auth.serviceAccounts.list(cli);
			expect(all.map((account) => account.id)).toEqual(
				expect.arrayContaining([kept.account.id, gone.account.id])
			);
			expect(all.every((account) => !('secretHash' in account))).toBe(true);
			const active = await auth.serviceAccounts.list(cli, { includeRevoked: false });
			expect(active.map((account) => account.id)).toContain(kept.account.id);
			expect(active.map((account) => account.id)).not.toContain(gone.account.id);
		});

		it('should revoke by name or client id, once, and say so the second time', async () => {
			const byName = await createAccount();
			const first = await auth.serviceAccounts.revoke(cli, byName.account.name);
			expect(first.alreadyRevoked).toBe(false);
			expect(first.account.revokedAt).toBeInstanceOf(Date);
			expect((await auth.serviceAccounts.revoke(cli, byName.account.name)).alreadyRevoked).toBe(true);
			const byClientId = await createAccount();
			expect((await auth.serviceAccounts.revoke(cli, byClientId.clientId)).account.id).toBe(
				byClientId.account.id
			);
			await expect(auth.serviceAccounts.revoke(cli, 'no-such-account')).rejects.toBeInstanceOf(
				ServiceAccountNotFound
			);
		});

		it('should audit creation and revocation with the actor, target and request', async () => {
			const created = await auth.serviceAccounts.create(
				admin,
				{ name: uniqueName('audited') },
				{
					ip: '198.51.100.1',
					requestId: 'req-create'
				}
			);
			await auth.serviceAccounts.revoke(admin, created.account.name, { requestId: 'req-revoke' });
			const entries = await database.db
				.select()
				.from(auditLog)
				.where(eq(auditLog.targetId, created.account.id))
				.orderBy(auditLog.id);
			expect(entries.map((entry) => entry.action)).toEqual([
				'service_account.create',
				'service_account.revoke'
			]);
			expect(entries[0]).toMatchObject({
				actorKind: 'user',
				actorId: admin.id,
				actorName: admin.name,
				targetType: 'service_account',
				ip: '198.51.100.1',
				requestId: 'req-create',
				details: { name: created.account.name, role: 'scorer', clientId: created.clientId }
			});
			expect(entries[1]?.requestId).toBe('req-revoke');
		});
	});

	describe('token endpoint', () => {
		it('should exchange client credentials for a bearer token that authenticates', async () => {
			const { clientId, clientSecret, account } = await createAccount();
			const response = await tokenRequest(
				form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret })
			);
			expect(response.status).toBe(200);
			expect(response.headers).toMatchObject({ 'cache-control': 'no-store', pragma: 'no-cache' });
			const { access_token: token, ...rest } = response.json as { access_token: string };
			expect(rest).toEqual({ token_type: 'Bearer', expires_in: 900 });
			expect(token.split('.')).toHaveLength(3);
			expect(await authenticateBearer(auth, `Bearer ${token}`)).toEqual({
				principal: { kind: 'service', id: account.id, name: account.name, role: 'scorer' }
			});
			const [row] = await database.db
				.select()
				.from(serviceAccounts)
				.where(eq(serviceAccounts.id, account.id));
			expect(row?.lastUsedAt).toBeInstanceOf(Date);
		});

		it('should accept JSON bodies and HTTP Basic client authentication', async () => {
			const { clientId, clientSecret } = await createAccount();
			const json = await tokenRequest({
				grant_type: 'client_credentials',
				client_id: clientId,
				client_secret: clientSecret
			});
			expect(json.status).toBe(200);
			const basic = await tokenRequest(form({ grant_type: 'client_credentials' }), {
				authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`
			});
			expect(basic.status).toBe(200);
		});

		it('should answer 401 invalid_client for a wrong secret, an unknown client and a revoked account', async () => {
			const good = await createAccount();
			const revoked = await createAccount();
			await auth.serviceAccounts.revoke(cli, revoked.clientId);
			for (const [clientId, clientSecret] of [
				// The last character changed (to one it is not: a secret ending in 'A' made this flaky).
				[good.clientId, `${good.clientSecret.slice(0, -1)}${good.clientSecret.endsWith('A') ? 'B' : 'A'}`],
				['svc_000000000000000000000000', good.clientSecret],
				['not-even-a-client-id', 'x'],
				[revoked.clientId, revoked.clientSecret]
			] as const) {
				const response = await tokenRequest(
					form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret })
				);
				expect(response.status).toBe(401);
				expect(response.json).toEqual({
					error: 'invalid_client',
					error_description: 'Client authentication failed.'
				});
			}
			const basic = await tokenRequest(form({ grant_type: 'client_credentials' }), {
				authorization: `Basic ${Buffer.from(`${good.clientId}:wrong`).toString('base64')}`
			});
			expect(basic.status).toBe(401);
			expect(basic.headers['www-authenticate']).toBe('Basic realm="credible"');
		});

		it('should audit issued and denied tokens without the secret', async () => {
			const { clientId, clientSecret, account } = await createAccount();
			await tokenRequest(
				form({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'wrong-secret' })
			);
			const ok = await tokenRequest(
				form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret })
			);
			const token = (ok.json as { access_token: string }).access_token;
			const { jti } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
				jti: string;
			};
			await tokenRequest(
				form({ grant_type: 'client_credentials', client_id: clientSecret, client_secret: clientSecret })
			);
			const entries = await database.db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(3);
			const [pasted, issued, denied] = entries;
			expect(denied).toMatchObject({
				action: 'auth.token_denied',
				actorKind: 'service',
				actorId: account.id,
				ip: '203.0.113.7',
				details: { clientId, reason: 'wrong_secret' }
			});
			expect(issued).toMatchObject({
				action: 'auth.token_issued',
				actorId: account.id,
				targetId: account.id,
				details: { clientId, jti }
			});
			expect(pasted).toMatchObject({
				action: 'auth.token_denied',
				actorId: null,
				details: { clientId: '(malformed)', reason: 'unknown_client' }
			});
			expect(JSON.stringify(entries)).not.toContain(clientSecret);
			expect(JSON.stringify(entries)).not.toContain('wrong-secret');
		});

		it.each([
			['no grant_type', form({ client_id: 'svc_x', client_secret: 'y' }), 'invalid_request'],
			[
				'another grant type',
				form({ grant_type: 'password', username: 'a', password: 'b' }),
				'unsupported_grant_type'
			],
			['a missing secret', form({ grant_type: 'client_credentials', client_id: 'svc_x' }), 'invalid_request'],
			[
				'a repeated parameter',
				'grant_type=client_credentials&grant_type=client_credentials',
				'invalid_request'
			],
			[
				'broken percent-escapes',
				'grant_type=client_credentials&client_id=%E0%A4%A&client_secret=%',
				'invalid_client'
			],
			['a body that is not a form at all', '\u0000\u0001{]', 'invalid_request'],
			[
				'a huge field',
				form({ grant_type: 'client_credentials', client_id: 'a'.repeat(600), client_secret: 'b' }),
				'invalid_request'
			],
			['an oversized body', `grant_type=client_credentials&pad=${'x'.repeat(9000)}`, 'invalid_request']
		])('should answer 4xx, never 500, for a form with %s', async (_label, body, error) => {
			const response = await tokenRequest(body);
			expect([400, 401]).toContain(response.status);
			expect(response.json).toMatchObject({ error });
			expect((response.json as { error_description: string }).error_description.length).toBeGreaterThan(0);
		});

		it.each([
			['invalid JSON', '{"grant_type":'],
			['a JSON array', '[]'],
			['JSON null', 'null'],
			['a non-string field', '{"grant_type":"client_credentials","client_id":1,"client_secret":"x"}'],
			['a nested object', '{"grant_type":{"$ne":""}}']
		])('should answer 400 invalid_request for %s', async (_label, body) => {
			const response = await tokenRequest(body, { contentType: 'application/json; charset=utf-8' });
			expect(response.status).toBe(400);
			expect(response.json).toMatchObject({ error: 'invalid_request' });
		});

		it('should answer 400 for another content type and 401 without any client authentication', async () => {
			const xml = await tokenRequest('<token/>', { contentType: 'text/xml' });
			expect(xml.status).toBe(400);
			expect((await tokenRequest('', { contentType: null })).status).toBe(400);
			const anonymous = await tokenRequest(form({ grant_type: 'client_credentials' }));
			expect(anonymous.status).toBe(401);
			expect(anonymous.json).toMatchObject({ error: 'invalid_client' });
			const malformedBasic = await tokenRequest(form({ grant_type: 'client_credentials' }), {
				authorization: 'Basic !!!'
			});
			expect(malformedBasic.status).toBe(401);
		});

		it('should refuse two client authentication methods at once', async () => {
			const { clientId, clientSecret } = await createAccount();
			const response = await tokenRequest(
				form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
				{ authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` }
			);
			expect(response.status).toBe(400);
		});

		it('should throttle failed exchanges per client id with 429 and Retry-After, and then refuse even the right secret', async () => {
			auth = createApiAuth({
				db: database.db,
				config,
				now: clock,
				throttle: { perClient: { failures: 3, windowSeconds: 60, blockSeconds: 60 } }
			});
			const { clientId, clientSecret } = await createAccount();
			const attempt = (secret: string) =>
				tokenRequest(form({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }));
			// Three failures are allowed; the fourth attempt is refused.
			for (let i = 0; i < 3; i++) expect((await attempt('wrong')).status).toBe(401);
			const throttled = await attempt(clientSecret);
			expect(throttled.status).toBe(429);
			expect(throttled.json).toMatchObject({ error: 'slow_down' });
			expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
			// Another client from the same address is not affected by this client's block.
			const other = await createAccount();
			expect(
				(
					await tokenRequest(
						form({
							grant_type: 'client_credentials',
							client_id: other.clientId,
							client_secret: other.clientSecret
						})
					)
				).status
			).toBe(200);
		});

		it('should throttle failed exchanges per IP address', async () => {
			auth = createApiAuth({
				db: database.db,
				config,
				now: clock,
				throttle: { perIp: { failures: 2, windowSeconds: 60, blockSeconds: 60 } }
			});
			const { clientId, clientSecret } = await createAccount();
			const attempt = (id: string, secret: string, ip = '192.0.2.9') =>
				tokenRequest(form({ grant_type: 'client_credentials', client_id: id, client_secret: secret }), {
					ip
				});
			for (let i = 0; i < 2; i++) expect((await attempt(`svc_${'0'.repeat(23)}${i}`, 'x')).status).toBe(401);
			expect((await attempt(clientId, clientSecret)).status).toBe(429);
			expect((await attempt(clientId, clientSecret, '192.0.2.10')).status).toBe(200);
		});

		it('should let exactly 10 failures per client and 50 per IP address through by default, as docs/api-access.md says', async () => {
			auth = createApiAuth({ db: database.db, config, now: clock });
			const { clientId, clientSecret } = await createAccount();
			const attempt = (id: string, secret: string, ip: string) =>
				tokenRequest(form({ grant_type: 'client_credentials', client_id: id, client_secret: secret }), {
					ip
				});
			for (let i = 0; i < 10; i++) expect((await attempt(clientId, 'wrong', '192.0.2.20')).status).toBe(401);
			expect((await attempt(clientId, clientSecret, '192.0.2.21')).status).toBe(429);
			for (let i = 0; i < 50; i++) {
				const status = (await attempt(`svc_${String(i).padStart(24, '0')}`, 'x', '192.0.2.30')).status;
				expect(status, `failure ${i + 1}`).toBe(401);
			}
			const other = await createAccount();
			expect((await attempt(other.clientId, other.clientSecret, '192.0.2.30')).status).toBe(429);
		});
	});

	describe('bearer tokens', () => {
		async function tokenFor(created: { clientId: string; clientSecret: string }) {
			const result = await auth.serviceAccounts.exchangeClientCredentials(
				created.clientId,
				created.clientSecret
			);
			if (!result.ok) throw new Error(result.reason);
			return result.token.accessToken;
		}

		it('should refuse an expired token as expired', async () => {
			const token = await tokenFor(await createAccount());
			now += 901_000 + 5_000;
			expect(await authenticateBearer(auth, `Bearer ${token}`)).toEqual({ error: 'expired' });
		});

		it('should refuse a tampered token as invalid', async () => {
			const token = await tokenFor(await createAccount());
			const [header, payload, signature] = token.split('.') as [string, string, string];
			const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as object;
			const forged = Buffer.from(JSON.stringify({ ...claims, role: 'risk_manager' })).toString('base64url');
			expect(await authenticateBearer(auth, `Bearer ${header}.${forged}.${signature}`)).toEqual({
				error: 'invalid'
			});
		});

		it('should refuse a revoked account at once on the revoking instance', async () => {
			const created = await createAccount();
			const token = await tokenFor(created);
			expect(await authenticateBearer(auth, `Bearer ${token}`)).toHaveProperty('principal');
			await auth.serviceAccounts.revoke(cli, created.clientId);
			expect(await authenticateBearer(auth, `Bearer ${token}`)).toEqual({ error: 'revoked' });
		});

		it('should refuse a revoked account on another instance once the cache bound has passed', async () => {
			const created = await createAccount();
			const token = await tokenFor(created);
			// `auth` plays an instance that has the account cached as active; `other` revokes it.
			expect(await authenticateBearer(auth, `Bearer ${token}`)).toHaveProperty('principal');
			const other = createApiAuth({ db: database.db, config, now: clock });
			await other.serviceAccounts.revoke(cli, created.account.name);
			now += config.AUTH_CACHE_SECONDS * 1000 - 1;
			expect(await authenticateBearer(auth, `Bearer ${token}`)).toHaveProperty('principal');
			now += 1;
			expect(await authenticateBearer(auth, `Bearer ${token}`)).toEqual({ error: 'revoked' });
			// And no new token for it.
			expect(
				(await auth.serviceAccounts.exchangeClientCredentials(created.clientId, created.clientSecret)).ok
			).toBe(false);
		});
	});
});
