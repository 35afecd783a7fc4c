/**
 * `npm run credible -- model …` as an operator runs it (tsx, no build) on a throwaway PGlite
 * seeded the way the server seeds it: list, promote and roll back, audited with the CLI's actor
 * and the reason; a missing reason, an unknown version and a retired version are refused.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { desc, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '$lib/server/db';
import { auditLog } from '$lib/server/db/schema';
import { readRegistry, seedRegistry } from '$lib/server/services/model-registry.service';
import { runCredible } from '../helpers/cli';

const dir = mkdtempSync(path.join(tmpdir(), 'credible-model-cli-'));
const pgliteDir = path.join(dir, 'pglite');
const migrationsDir = path.resolve('drizzle');

const credible = (...args: string[]) => runCredible(pgliteDir, ...args);

async function withDatabase<T>(work: (db: Awaited<ReturnType<typeof openDatabase>>['db']) => Promise<T>) {
	const database = await openDatabase({ pgliteDir, migrationsDir, migrate: true });
	try {
		return await work(database.db);
	} finally {
		await database.close();
	}
}

describe('credible model CLI', () => {
	beforeAll(async () => {
		await withDatabase((db) =>
			seedRegistry(db, [
				{
					modelId: 'lending-club',
					version: 'xgb-1.0.0',
					name: 'LC',
					sha256: 'a'.repeat(64),
					declared: 'champion'
				},
				{
					modelId: 'lending-club',
					version: 'scorecard-1.0.0',
					name: 'LC',
					sha256: 'b'.repeat(64),
					declared: 'challenger'
				}
			])
		);
	});
	afterAll(() => {
		rmSync(dir, { recursive: true, force: true });
	});

	it('should list, promote and roll back, auditing each change with the reason', async () => {
		const listed = await credible('model', 'list');
		expect(listed.code).toBe(0);
		expect(listed.stdout).toMatch(/lending-club\s+xgb-1\.0\.0\s+champion\s+1/);
		expect(listed.stdout).toMatch(/lending-club\s+scorecard-1\.0\.0\s+challenger/);

		const promoted = await credible(
			'model',
			'promote',
			'lending-club',
			'scorecard-1.0.0',
			'--reason',
			'Quarterly review'
		);
		expect(promoted.code).toBe(0);
		expect(promoted.stdout).toMatch(/champion is now scorecard-1\.0\.0 \(was xgb-1\.0\.0, now challenger\)/);

		const rolled = await credible('model', 'rollback', 'lending-club', '--reason', 'Approval rate fell');
		expect(rolled.code).toBe(0);
		expect(rolled.stdout).toMatch(/champion is now xgb-1\.0\.0 \(was scorecard-1\.0\.0, now retired\)/);

		const { registry, entries } = await withDatabase(async (db) => ({
			registry: await readRegistry(db),
			entries: await db
				.select()
				.from(auditLog)
				.where(like(auditLog.action, 'model.%'))
				.orderBy(desc(auditLog.id))
				.limit(2)
		}));
		expect(Object.fromEntries(registry.get('lending-club')?.states ?? [])).toEqual({
			'xgb-1.0.0': 'champion',
			'scorecard-1.0.0': 'retired'
		});
		expect(entries.map((e) => [e.action, e.actorKind, e.actorId, e.details.reason])).toEqual([
			['model.rollback', 'system', 'cli', 'Approval rate fell'],
			['model.promote', 'system', 'cli', 'Quarterly review']
		]);
	});

	it('should refuse a missing reason, an unknown version and a retired version', async () => {
		const noReason = await credible('model', 'promote', 'lending-club', 'scorecard-1.0.0');
		expect(noReason.code).toBe(1);
		expect(noReason.stderr).toMatch(/reason: Give the reason/);
		const unknown = await credible('model', 'promote', 'lending-club', 'xgb-7', '--reason', 'Typo here');
		expect(unknown.code).toBe(1);
		expect(unknown.stderr).toMatch(/has no version "xgb-7"/);
		const retired = await credible(
			'model',
			'promote',
			'lending-club',
			'scorecard-1.0.0',
			'--reason',
			'Try again'
		);
		expect(retired.code).toBe(1);
		expect(retired.stderr).toMatch(/retired and cannot be promoted/);
		const usage = await credible('model', 'promote', 'lending-club');
		expect(usage.code).toBe(2);
	});

	it('should upload a bundle archive after its golden check, and print the failing rows of a bad one', async () => {
		const bundle = (version: string, shift: number) => {
			const folder = mkdtempSync(path.join(dir, 'bundle-'));
			cpSync('models/lending-club/scorecard-1.0.0', folder, { recursive: true });
			const manifestFile = path.join(folder, 'manifest.json');
			const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { model: { version: string } };
			manifest.model.version = version;
			writeFileSync(manifestFile, JSON.stringify(manifest));
			const goldenFile = path.join(folder, 'golden.jsonl');
			const lines = readFileSync(goldenFile, 'utf8').trim().split('\n');
			const first = JSON.parse(lines[0] ?? '{}') as { probability: number };
			first.probability += shift;
			lines[0] = JSON.stringify(first);
			writeFileSync(goldenFile, `${lines.join('\n')}\n`);
			const file = `${folder}.tar.gz`;
			execFileSync('tar', ['-czf', file, '-C', folder, '.']);
			return file;
		};
		const good = await credible('model', 'upload', bundle('scorecard-1.1.0', 0), '--reason', 'Refit');
		expect(good.stderr).toBe('');
		expect(good.code).toBe(0);
		expect(good.stdout).toMatch(
			/lending-club@scorecard-1\.1\.0 registered as registered: \d+ golden rows reproduced/
		);
		const bad = await credible('model', 'upload', bundle('scorecard-1.2.0', 0.01), '--reason', 'Refit');
		expect(bad.code).toBe(1);
		expect(bad.stderr).toMatch(/golden: row 1: probability/);
		const registry = await withDatabase((db) => readRegistry(db));
		expect(registry.get('lending-club')?.states.get('scorecard-1.1.0')).toBe('registered');
		expect(registry.get('lending-club')?.states.has('scorecard-1.2.0')).toBe(false);
	});
});
