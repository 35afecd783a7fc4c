import { describe, expect, it } from 'vitest';
import { authenticateBearer, bearerChallenge, type BearerDeps } from './bearer';
import { createAccessTokens } from './jwt';
import type { AccountStatus } from './account-status';

const tokens = createAccessTokens({ secret: new TextEncoder().encode('s'.repeat(32)), ttlSeconds: 900 });
const subject = { id: '0b4c7c7e-5a8e-4bb4-9a43-3c1d2a3f9a10', name: 'svc', role: 'scorer' as const };

function deps(status: AccountStatus = 'active'): BearerDeps {
	return { tokens, accountStatus: { get: () => Promise.resolve(status) } };
}

describe('authenticateBearer', () => {
	it('should return the principal of a valid token of an active account', async () => {
		const { accessToken } = await tokens.signAccessToken(subject);
		expect(await authenticateBearer(deps(), `Bearer ${accessToken}`)).toEqual({
			principal: { kind: 'service', ...subject }
		});
		expect(await authenticateBearer(deps(), `bearer  ${accessToken}`)).toHaveProperty('principal');
	});

	it('should say missing when there is no header', async () => {
		expect(await authenticateBearer(deps(), null)).toEqual({ error: 'missing' });
		expect(await authenticateBearer(deps(), '')).toEqual({ error: 'missing' });
	});

	it.each([
		'Basic abc',
		'Bearer',
		'Bearer a b',
		'Token abc',
		`Bearer ${'a'.repeat(5000)}`,
		'Bearer not.a.jwt'
	])('should say invalid for %j', async (header) => {
		expect(await authenticateBearer(deps(), header)).toEqual({ error: 'invalid' });
	});

	it('should say revoked when the account is revoked', async () => {
		const { accessToken } = await tokens.signAccessToken(subject);
		expect(await authenticateBearer(deps('revoked'), `Bearer ${accessToken}`)).toEqual({ error: 'revoked' });
	});

	it('should say expired for an expired token', async () => {
		let now = Date.now();
		const aging = createAccessTokens({
			secret: new TextEncoder().encode('s'.repeat(32)),
			ttlSeconds: 60,
			now: () => now
		});
		const { accessToken } = await aging.signAccessToken(subject);
		now += 120_000;
		const result = await authenticateBearer(
			{ tokens: aging, accountStatus: deps().accountStatus },
			`Bearer ${accessToken}`
		);
		expect(result).toEqual({ error: 'expired' });
	});

	it('should build RFC 6750 challenges', () => {
		expect(bearerChallenge('missing').headers['www-authenticate']).toBe('Bearer realm="credible"');
		const expired = bearerChallenge('expired');
		expect(expired.status).toBe(401);
		expect(expired.headers['www-authenticate']).toMatch(/^Bearer realm="credible", error="invalid_token"/);
		expect(expired.json).toMatchObject({ error: 'unauthorized', reason: 'expired' });
	});
});
