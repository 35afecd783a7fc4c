import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { openDatabase } from '$lib/server/db';
import { auditLog, serviceAccounts } from '$lib/server/db/schema';
import { hashClientSecret } from '$lib/server/services/service-accounts.service';
import { runCredible } from '../helpers/cli';

const dir = mkdtempSync(path.join(tmpdir(), 'credible-cli-'));
const pgliteDir = path.join(dir, 'pglite');

const credible = (...args: string[]) => runCredible(pgliteDir, ...args);

describe('credible CLI', () => {
	afterAll(() => {
		rmSync(dir, { recursive: true, force: true });
	});

	it('should create a service account end to end, print the secret once and store only its hash', async () => {
		const created = await credible('service-account', 'create', 'loan-origination', '--role', 'scorer');
		expect(created.code).toBe(0);
		const clientId = /client_id:\s+(svc_[0-9a-f]{24})/.exec(created.stdout)?.[1];
		const clientSecret = /client_secret:\s+([A-Za-z0-9_-]{43})/.exec(created.stdout)?.[1];
		expect(clientId).toBeDefined();
		expect(clientSecret).toBeDefined();
		expect(created.stdout).toMatch(/cannot show it again/);

		const listed = await credible('service-account', 'list');
		expect(listed.code).toBe(0);
		expect(listed.stdout).toContain('loan-origination');
		expect(listed.stdout).toContain(clientId);
		expect(listed.stdout).not.toContain(clientSecret);

		const revoked = await credible('service-account', 'revoke', 'loan-origination');
		expect(revoked.code).toBe(0);
		expect(revoked.stdout).toMatch(/Revoked/);

		const database = await openDatabase({
			pgliteDir,
			migrationsDir: path.resolve('drizzle'),
			migrate: false
		});
		try {
			const [row] = await database.db
				.select()
				.from(serviceAccounts)
				.where(eq(serviceAccounts.clientId, clientId!));
			expect(row?.secretHash).toBe(hashClientSecret(clientSecret!));
			expect(row?.revokedAt).toBeInstanceOf(Date);
			const audits = await database.db.select().from(auditLog).where(eq(auditLog.targetId, row!.id));
			expect(audits.map((entry) => [entry.action, entry.actorKind, entry.actorId])).toEqual([
				['service_account.create', 'system', 'cli'],
				['service_account.revoke', 'system', 'cli']
			]);
		} finally {
			await database.close();
		}
	}, 240_000);

	it('should explain usage mistakes with exit code 2 and without a stack trace', async () => {
		const results = await Promise.all([
			credible('service-account', 'create'),
			credible('service-account', 'frobnicate'),
			credible('service-account', 'create', 'x', '--bogus'),
			credible('no-such-command')
		]);
		for (const result of results) {
			expect(result.code).toBe(2);
			expect(result.stderr).not.toMatch(/\n\s+at /);
		}
		expect(results[0].stderr).toMatch(/NAME is required/);
	}, 240_000);

	it('should refuse an invalid role with a field-level message', async () => {
		const result = await credible('service-account', 'create', 'ops-bot', '--role', 'admin');
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/role: must be one of/);
	}, 240_000);

	it('should apply every committed migration with migrate, and again as a no-op', async () => {
		const committed = readdirSync('drizzle').filter((name) => name.endsWith('.sql')).length;
		const first = await credible('migrate');
		expect(first.code).toBe(0);
		expect(first.stdout).toContain(`Migrations applied on pglite: ${committed}`);
		const again = await credible('migrate');
		expect(again.code).toBe(0);
		expect(again.stdout).toContain(`Migrations applied on pglite: ${committed}`);
		expect((await credible('migrate', 'extra')).code).toBe(2);
	}, 240_000);
});
