/**
 * `drift backfill`: counts into `drift_counts` the stored predictions the writer did not count
 * (recorded before migration 0009), so that drift covers them (docs/drift.md, "Backfill").
 */
import path from 'node:path';
import { backfillDriftCounts, type BackfillTarget } from '../../lib/server/monitoring/drift/backfill';
import { referenceBins } from '../../lib/server/monitoring/drift/bins';
import { storedManifests } from '../../lib/server/services/bundle-upload.service';
import { ModelRegistry } from '../../lib/server/services/models.service';
import { formatTable, parseOptions, runAction, type CliAction } from '../args';
import { UsageError, type CliContext } from '../context';
import type { CliCommand } from './types';

const usage = `Usage:
  npm run credible -- drift backfill [--model MODEL] [--version VERSION] [--dry-run]

  backfill  Finds, per model version, the hours whose stored predictions are not all in
            drift_counts (predictions recorded before migration 0009) and counts them again
            from the predictions table, one transaction per day of hours. Safe to repeat, and
            on PostgreSQL to run while the server serves: hours from the previous one on are
            left to the writer. --dry-run lists the hours without changing anything.

Versions are those of MODELS_DIR and the bundles uploaded to the database. With the embedded
database (no DATABASE_URL), stop the server first: PGlite files must not be opened by two
processes at once.`;

export const driftCommand: CliCommand = {
	name: 'drift',
	summary: 'count stored predictions the drift counts lack (recorded before migration 0009)',
	usage,
	run: (args, context) => runAction(actions, args, context)
};

const actions: Record<string, CliAction> = { backfill };

async function backfill(args: string[], context: CliContext): Promise<number> {
	const { values, positionals } = parseOptions(args, {
		model: { type: 'string' },
		version: { type: 'string' },
		'dry-run': { type: 'boolean' }
	});
	if (positionals.length > 0) throw new UsageError(`backfill takes no positional arguments.`);
	if (values.version !== undefined && values.model === undefined)
		throw new UsageError('--version needs --model.');
	const { db } = await context.database();
	const shipped = await ModelRegistry.load(path.resolve(context.env().MODELS_DIR));
	const manifests = new Map(shipped.all().map(({ manifest }) => [key(manifest.model), manifest]));
	for (const manifest of await storedManifests(db)) manifests.set(key(manifest.model), manifest);

	const targets: BackfillTarget[] = [...manifests.values()]
		.filter((m) => values.model === undefined || m.model.id === values.model)
		.filter((m) => values.version === undefined || m.model.version === values.version)
		.map((m) => ({ id: m.model.id, version: m.model.version, bins: referenceBins(m) }));
	if (targets.length === 0) {
		const known = [...manifests.keys()].sort().join(', ');
		throw new UsageError(
			`No version matches ${values.model}${values.version ? `@${values.version}` : ''} (known: ${known}).`
		);
	}
	const dryRun = values['dry-run'] ?? false;
	const results = await backfillDriftCounts(db, targets, { dryRun });
	context.stdout.write(
		formatTable([
			['model', 'version', 'hours', 'predictions added', 'first hour', 'last hour'],
			...results.map((r) => [
				r.model,
				r.version,
				String(r.hours.length),
				r.added.toLocaleString('en-US'),
				r.hours[0]?.hour ?? '–',
				r.hours.at(-1)?.hour ?? '–'
			])
		])
	);
	const added = results.reduce((sum, r) => sum + r.added, 0);
	context.stdout.write(
		dryRun
			? `Dry run: ${added.toLocaleString('en-US')} predictions would be counted; nothing changed.\n`
			: `${added.toLocaleString('en-US')} predictions counted.\n`
	);
	return 0;
}

const key = (model: { id: string; version: string }) => `${model.id}@${model.version}`;
