import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { createAccessTokens, JWT_AUDIENCE, JWT_ISSUER } from './jwt';

const secret = new TextEncoder().encode('k'.repeat(40));
const subject = {
	id: '0b4c7c7e-5a8e-4bb4-9a43-3c1d2a3f9a10',
	name: 'loan-origination',
	role: 'scorer' as const
};

function clock(start = Date.UTC(2026, 0, 1)) {
	let now = start;
	return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('access tokens', () => {
	it('should verify a token it signed and return the service principal', async () => {
		const tokens = createAccessTokens({ secret, ttlSeconds: 900 });
		const issued = await tokens.signAccessToken(subject);
		expect(issued.expiresIn).toBe(900);
		const check = await tokens.verifyAccessToken(issued.accessToken);
		expect(check).toEqual({
			ok: true,
			jti: issued.jti,
			principal: { kind: 'service', id: subject.id, name: subject.name, role: 'scorer' }
		});
	});

	it('should carry the issuer, audience, subject, role, name, jti, iat and exp claims', async () => {
		const time = clock();
		const issued = await createAccessTokens({ secret, ttlSeconds: 600, now: time.now }).signAccessToken(
			subject
		);
		const payload = JSON.parse(
			Buffer.from(issued.accessToken.split('.')[1]!, 'base64url').toString()
		) as Record<string, unknown>;
		const iat = time.now() / 1000;
		expect(payload).toEqual({
			iss: JWT_ISSUER,
			aud: JWT_AUDIENCE,
			sub: subject.id,
			role: 'scorer',
			name: subject.name,
			jti: issued.jti,
			iat,
			exp: iat + 600
		});
	});

	it('should call a token past its expiry expired', async () => {
		const time = clock();
		const tokens = createAccessTokens({ secret, ttlSeconds: 60, now: time.now });
		const { accessToken } = await tokens.signAccessToken(subject);
		time.advance(60_000 + 10_000);
		expect(await tokens.verifyAccessToken(accessToken)).toEqual({ ok: false, error: 'expired' });
	});

	it('should still expire a token it has verified and remembered', async () => {
		const time = clock();
		const tokens = createAccessTokens({ secret, ttlSeconds: 60, now: time.now });
		const { accessToken } = await tokens.signAccessToken(subject);
		expect((await tokens.verifyAccessToken(accessToken)).ok).toBe(true);
		time.advance(60_000 + 4_000);
		expect((await tokens.verifyAccessToken(accessToken)).ok).toBe(true);
		time.advance(1_000);
		expect(await tokens.verifyAccessToken(accessToken)).toEqual({ ok: false, error: 'expired' });
		expect(await tokens.verifyAccessToken(accessToken)).toEqual({ ok: false, error: 'expired' });
	});

	it('should keep at most maxRemembered tokens and verify the others again', async () => {
		const tokens = createAccessTokens({ secret, ttlSeconds: 900, maxRemembered: 2 });
		const issued = await Promise.all([1, 2, 3].map(() => tokens.signAccessToken(subject)));
		for (const { accessToken } of [...issued, ...issued])
			expect((await tokens.verifyAccessToken(accessToken)).ok).toBe(true);
	});

	it('should call a tampered token invalid', async () => {
		const tokens = createAccessTokens({ secret, ttlSeconds: 900 });
		const { accessToken } = await tokens.signAccessToken(subject);
		const [header, payload, signature] = accessToken.split('.') as [string, string, string];
		const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
		const forged = Buffer.from(JSON.stringify({ ...claims, role: 'risk_manager' })).toString('base64url');
		expect(await tokens.verifyAccessToken(`${header}.${forged}.${signature}`)).toEqual({
			ok: false,
			error: 'invalid'
		});
		const flipped = signature.at(-2) === 'A' ? 'B' : 'A';
		expect(
			await tokens.verifyAccessToken(
				`${header}.${payload}.${signature.slice(0, -2)}${flipped}${signature.at(-1)}`
			)
		).toMatchObject({ ok: false, error: 'invalid' });
	});

	it('should call an expired token signed with another key invalid, not expired', async () => {
		const time = clock();
		const other = createAccessTokens({
			secret: new TextEncoder().encode('o'.repeat(40)),
			ttlSeconds: 60,
			now: time.now
		});
		const { accessToken } = await other.signAccessToken(subject);
		time.advance(3_600_000);
		expect(
			await createAccessTokens({ secret, ttlSeconds: 60, now: time.now }).verifyAccessToken(accessToken)
		).toEqual({
			ok: false,
			error: 'invalid'
		});
	});

	it.each([
		['garbage', 'not-a-jwt'],
		['an empty string', ''],
		['an unsigned token', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x' })}.`]
	])('should call %s invalid', async (_label, token) => {
		expect(await createAccessTokens({ secret, ttlSeconds: 900 }).verifyAccessToken(token)).toEqual({
			ok: false,
			error: 'invalid'
		});
	});

	it('should refuse a genuine signature over the wrong audience, issuer or an admin role', async () => {
		const tokens = createAccessTokens({ secret, ttlSeconds: 900 });
		const sign = (claims: Record<string, unknown>, audience: string, issuer: string) =>
			new SignJWT(claims)
				.setProtectedHeader({ alg: 'HS256' })
				.setSubject(subject.id)
				.setJti('j')
				.setIssuedAt()
				.setExpirationTime('5m')
				.setAudience(audience)
				.setIssuer(issuer)
				.sign(secret);
		const base = { role: 'scorer', name: 'n' };
		expect((await tokens.verifyAccessToken(await sign(base, 'other-api', JWT_ISSUER))).ok).toBe(false);
		expect((await tokens.verifyAccessToken(await sign(base, JWT_AUDIENCE, 'someone'))).ok).toBe(false);
		expect(
			(await tokens.verifyAccessToken(await sign({ ...base, role: 'admin' }, JWT_AUDIENCE, JWT_ISSUER))).ok
		).toBe(false);
		expect((await tokens.verifyAccessToken(await sign(base, JWT_AUDIENCE, JWT_ISSUER))).ok).toBe(true);
	});

	it('should refuse a genuine signature issued in the future or living longer than the configured lifetime', async () => {
		const time = clock();
		const tokens = createAccessTokens({ secret, ttlSeconds: 900, now: time.now });
		const nowSeconds = Math.floor(time.now() / 1000);
		const sign = (iat: number, exp: number) =>
			new SignJWT({ role: 'scorer', name: 'n' })
				.setProtectedHeader({ alg: 'HS256' })
				.setSubject(subject.id)
				.setJti(`j-${iat}-${exp}`)
				.setIssuedAt(iat)
				.setExpirationTime(exp)
				.setAudience(JWT_AUDIENCE)
				.setIssuer(JWT_ISSUER)
				.sign(secret);
		// Issued an hour from now, valid for the usual 15 minutes after that.
		expect(await tokens.verifyAccessToken(await sign(nowSeconds + 3600, nowSeconds + 4500))).toEqual({
			ok: false,
			error: 'invalid'
		});
		// Issued now, valid for ten years.
		expect(await tokens.verifyAccessToken(await sign(nowSeconds, nowSeconds + 10 * 365 * 86_400))).toEqual({
			ok: false,
			error: 'invalid'
		});
		// Within the clock tolerance, and exactly the configured lifetime: accepted.
		expect((await tokens.verifyAccessToken(await sign(nowSeconds + 3, nowSeconds + 903))).ok).toBe(true);
	});

	it('should refuse a key shorter than 32 bytes', () => {
		expect(() => createAccessTokens({ secret: new Uint8Array(16), ttlSeconds: 900 })).toThrow(/32 bytes/);
	});
});

function b64(value: unknown): string {
	return Buffer.from(JSON.stringify(value)).toString('base64url');
}
