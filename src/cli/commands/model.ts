/**
 * `model list|promote|rollback`: which version of each model is served, and changing it. A change
 * is written to the database registry in one audited transaction; running instances sharing the
 * database follow it within seconds (NOTIFY, else their periodic check).
 */
import { formatTable, parseOptions as parse, runAction, type CliAction } from '../args';
import { UsageError, type CliContext } from '../context';
import {
	promoteVersion,
	readRegistry,
	rollbackModel,
	type RegistryChange
} from '../../lib/server/services/model-registry.service';
import type { CliCommand } from './types';

const usage = `Usage:
  npm run credible -- model list
  npm run credible -- model promote MODEL VERSION --reason REASON
  npm run credible -- model rollback MODEL --reason REASON

  list      Every model version in the registry with its state (registered, shadow,
            challenger, champion, retired) and each model's registry generation.
  promote   Makes VERSION the champion of MODEL; the previous champion becomes a challenger.
            Refused for a retired version or the current champion.
  rollback  Restores the champion the last promotion replaced; the version rolled back is
            retired.

The reason is recorded in the audit log with the operating-system user. The registry is seeded
by the server at start-up from MODELS_DIR: start it once before changing anything. With the
embedded database (no DATABASE_URL), stop the server first: PGlite files must not be opened by
two processes at once.`;

export const modelCommand: CliCommand = {
	name: 'model',
	summary: 'list the model registry, promote a version to champion, or roll a model back',
	usage,
	run: (args, context) => runAction(actions, args, context)
};

const actions: Record<string, CliAction> = { list, promote, rollback };

async function list(args: string[], context: CliContext): Promise<number> {
	if (args.length > 0) throw new UsageError('list takes no arguments.');
	const { db } = await context.database();
	const registry = await readRegistry(db);
	if (registry.size === 0) {
		context.stdout.write('The registry is empty: start the server once to register the bundles.\n');
		return 0;
	}
	const rows = [['MODEL', 'VERSION', 'STATE', 'GENERATION']];
	for (const [model, family] of [...registry].sort(([a], [b]) => a.localeCompare(b))) {
		for (const [version, state] of [...family.states].sort(([a], [b]) => a.localeCompare(b))) {
			rows.push([model, version, state, String(family.generation)]);
		}
	}
	context.stdout.write(formatTable(rows));
	return 0;
}

async function promote(args: string[], context: CliContext): Promise<number> {
	const { values, positionals } = parse(args, { reason: { type: 'string' } });
	if (positionals.length !== 2) throw new UsageError('promote takes MODEL and VERSION.');
	const [model, version] = positionals;
	const { db } = await context.database();
	const change = await promoteVersion(db, context.actor, { model, version, reason: values.reason ?? '' });
	return printed(change, context);
}

async function rollback(args: string[], context: CliContext): Promise<number> {
	const { values, positionals } = parse(args, { reason: { type: 'string' } });
	if (positionals.length !== 1) throw new UsageError('rollback takes MODEL.');
	const { db } = await context.database();
	const change = await rollbackModel(db, context.actor, {
		model: positionals[0],
		reason: values.reason ?? ''
	});
	return printed(change, context);
}

function printed(change: RegistryChange, context: CliContext): number {
	context.stdout.write(
		`${change.model}: champion is now ${change.champion} (was ${change.previous}, now ${change.previousState}); generation ${change.generation}.\n`
	);
	return 0;
}
