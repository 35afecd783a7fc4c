import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { openDatabase } from '$lib/server/db';
import { auditLog, users } from '$lib/server/db/schema';
import { parseEnv } from '$lib/server/env';
import { verifyPassword } from '$lib/server/auth/password';
import { UsageError, type CliContext } from '../../src/cli/context';
import { userCommand } from '../../src/cli/commands/user';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from '../helpers/database';

describe.each(testDatabaseKinds())('credible user commands on %s', (kind) => {
	let database: TestDatabase;
	let out = '';
	let err = '';

	beforeAll(async () => {
		database = await openTestDatabase(kind);
	});
	afterAll(async () => {
		await database.dispose();
	});

	const context: CliContext = {
		stdout: { write: (text) => void (out += text) },
		stderr: { write: (text) => void (err += text) },
		env: () => parseEnv({}),
		database: () => Promise.resolve(database),
		actor: { kind: 'system', id: 'cli', name: 'cli:test' }
	};
	async function user(...args: string[]) {
		out = '';
		err = '';
		return userCommand.run(args, context);
	}

	it('should create a person with a temporary password printed once, to change at first sign-in', async () => {
		expect(await user('create', 'Ana@Example.com', '--name', 'Ana Lyst', '--role', 'risk_manager')).toBe(0);
		const temporary = /temporary password: (\S+)/.exec(out)?.[1] ?? '';
		expect(temporary).toHaveLength(20);
		const [ana] = await database.db.select().from(users).where(eq(users.email, 'ana@example.com'));
		expect(ana).toMatchObject({ name: 'Ana Lyst', role: 'risk_manager', mustChangePassword: true });
		expect(await verifyPassword(ana?.passwordHash ?? '', temporary)).toBe(true);

		expect(await user('list')).toBe(0);
		expect(out).toMatch(/ana@example\.com\s+Ana Lyst\s+risk_manager\s+off\s+active/);
		expect(out).not.toContain(temporary);
	});

	it('should refuse a duplicate e-mail, a service role and a common password', async () => {
		await expect(user('create', 'ana@example.com', '--name', 'Again', '--role', 'viewer')).rejects.toThrow(
			/already exists/
		);
		await expect(
			user('create', 'bob@example.com', '--name', 'Bob', '--role', 'scorer')
		).rejects.toBeInstanceOf(UsageError);
		await expect(
			user('create', 'bob@example.com', '--name', 'Bob', '--role', 'viewer', '--password', 'password1234')
		).rejects.toMatchObject({ fieldErrors: { password: [expect.stringMatching(/too common/)] } });
		await expect(user('create', 'bob@example.com', '--role', 'viewer')).rejects.toBeInstanceOf(UsageError);
		await expect(user('frobnicate')).rejects.toBeInstanceOf(UsageError);
	});

	it('should reset a password, disable and enable a person, each audited as the CLI', async () => {
		expect(await user('reset-password', 'ana@example.com')).toBe(0);
		const fresh = /New temporary password for ana@example\.com: (\S+)/.exec(out)?.[1] ?? '';
		expect(await user('disable', 'ANA@example.com')).toBe(0);
		let [ana] = await database.db.select().from(users).where(eq(users.email, 'ana@example.com'));
		expect(ana?.disabledAt).not.toBeNull();
		expect(await verifyPassword(ana?.passwordHash ?? '', fresh)).toBe(true);
		expect(await user('enable', 'ana@example.com')).toBe(0);
		[ana] = await database.db.select().from(users).where(eq(users.email, 'ana@example.com'));
		expect(ana?.disabledAt).toBeNull();
		expect(await user('reset-2fa', 'ana@example.com')).toBe(0);
		await expect(user('disable', 'nobody@example.com')).rejects.toThrow(/No user/);

		const actions = (
			await database.db
				.select()
				.from(auditLog)
				.where(eq(auditLog.targetId, ana?.id ?? ''))
		)
			.sort((a, b) => a.id - b.id)
			.map((entry) => [entry.action, entry.actorId]);
		expect(actions).toEqual([
			['user.create', 'cli'],
			['user.password_reset', 'cli'],
			['user.disable', 'cli'],
			['user.enable', 'cli'],
			['user.2fa_reset', 'cli']
		]);
	});
});

describe('npm run credible -- user', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'credible-cli-user-'));
	const pgliteDir = path.join(dir, 'pglite');
	afterAll(() => {
		rmSync(dir, { recursive: true, force: true });
	});

	it('should be wired into the command line', { timeout: 120_000 }, async () => {
		const { DATABASE_URL: _ignored, ...environment } = process.env;
		const { stdout } = await promisify(execFile)(
			process.execPath,
			[
				path.resolve('node_modules/tsx/dist/cli.mjs'),
				'src/cli/credible.ts',
				'user',
				'create',
				'eve@example.com',
				'--name',
				'Eve',
				'--role',
				'viewer'
			],
			{ env: { ...environment, NODE_ENV: 'development', PGLITE_DIR: pgliteDir, LOG_LEVEL: 'silent' } }
		);
		expect(stdout).toMatch(/Created eve@example\.com \(Eve, role viewer/);
		const opened = await openDatabase({ pgliteDir, migrationsDir: path.resolve('drizzle'), migrate: false });
		try {
			expect(await opened.db.select().from(users).where(eq(users.email, 'eve@example.com'))).toHaveLength(1);
		} finally {
			await opened.close();
		}
	});
});
