/**
 * `npm run credible -- model …` as an operator runs it (tsx, no build) on a throwaway PGlite
 * seeded the way the server seeds it: list, promote and roll back, audited with the CLI's actor
 * and the reason; a missing reason, an unknown version and a retired version are refused; a
 * version goes into shadow and out of it (one per model), audited likewise.
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
				},
				{
					modelId: 'lending-club',
					version: 'xgb-0.9.0',
					name: 'LC',
					sha256: 'c'.repeat(64),
					declared: 'registered'
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
			'scorecard-1.0.0': 'retired',
			'xgb-0.9.0': 'registered'
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

	it('should put a version into shadow and take it out, one per model, auditing each change', async () => {
		const champion = await credible('model', 'shadow', 'lending-club', 'xgb-1.0.0', '--reason', 'Compare');
		expect(champion.code).toBe(1);
		expect(champion.stderr).toMatch(/xgb-1\.0\.0 is the champion/);
		const shadowed = await credible('model', 'shadow', 'lending-club', 'xgb-0.9.0', '--reason', 'Compare');
		expect(shadowed.stderr).toBe('');
		expect(shadowed.code).toBe(0);
		expect(shadowed.stdout).toMatch(/lending-club@xgb-0\.9\.0 is now in shadow \(was registered\)/);
		const second = await credible(
			'model',
			'shadow',
			'lending-club',
			'scorecard-1.1.0',
			'--reason',
			'Compare too'
		);
		expect(second.code).toBe(1);
		expect(second.stderr).toMatch(/xgb-0\.9\.0 is already in shadow \(one per model\)/);
		const listed = await credible('model', 'list');
		expect(listed.stdout).toMatch(/lending-club\s+xgb-0\.9\.0\s+shadow/);
		const out = await credible('model', 'unshadow', 'lending-club', '--reason', 'Seen enough');
		expect(out.code).toBe(0);
		expect(out.stdout).toMatch(/lending-club@xgb-0\.9\.0 is out of shadow, now registered/);
		const again = await credible('model', 'unshadow', 'lending-club', '--reason', 'Seen enough');
		expect(again.code).toBe(1);
		expect(again.stderr).toMatch(/has no version in shadow/);
		const entries = await withDatabase((db) =>
			db
				.select()
				.from(auditLog)
				.where(like(auditLog.action, 'model.%shadow'))
				.orderBy(desc(auditLog.id))
				.limit(2)
		);
		expect(entries.map((e) => [e.action, e.actorId, e.details.reason, e.details.version])).toEqual([
			['model.unshadow', 'cli', 'Seen enough', 'xgb-0.9.0'],
			['model.shadow', 'cli', 'Compare', 'xgb-0.9.0']
		]);
	}, 180_000);
});
