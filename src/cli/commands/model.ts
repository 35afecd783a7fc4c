/**
 * `model list|promote|rollback|shadow|unshadow|upload`: which version of each model is served, and changing it. A change
 * is written to the database registry in one audited transaction; running instances sharing the
 * database follow it within seconds (NOTIFY, else their periodic check).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InferencePool } from '../../../inference/pool/pool';
import { formatTable, parseOptions as parse, runAction, type CliAction } from '../args';
import { UsageError, type CliContext } from '../context';
import {
	promoteVersion,
	readRegistry,
	rollbackModel,
	shadowVersion,
	unshadowModel,
	type RegistryChange
} from '../../lib/server/services/model-registry.service';
import { uploadBundle } from '../../lib/server/services/bundle-upload.service';
import type { CliCommand } from './types';

const usage = `Usage:
  npm run credible -- model list
  npm run credible -- model promote MODEL VERSION --reason REASON
  npm run credible -- model rollback MODEL --reason REASON
  npm run credible -- model shadow MODEL VERSION --reason REASON
  npm run credible -- model unshadow MODEL --reason REASON
  npm run credible -- model upload FILE --reason REASON

  list      Every model version in the registry with its state (registered, shadow,
            challenger, champion, retired) and each model's registry generation.
  promote   Makes VERSION the champion of MODEL; the previous champion becomes a challenger.
            Refused for a retired version or the current champion.
  rollback  Restores the champion the last promotion replaced; the version rolled back is
            retired.
  shadow    Puts VERSION (registered or a challenger) into shadow: every champion decision of
            MODEL is then also scored by it in the background, for comparison. One version
            per model at a time.
  unshadow  Takes MODEL's version in shadow out of it, back to the state it had before.
  upload    Registers a bundle archive (tar or tar.gz of manifest.json, model.onnx,
            golden.jsonl and MODEL_CARD.md) once its manifest validates, model.onnx matches
            its SHA-256 and its golden rows reproduce in an inference worker started for the
            check; otherwise prints the failing checks or rows. The archive is stored in the
            database, where running instances load it from.

The reason is recorded in the audit log with the operating-system user. The registry is seeded
by the server at start-up from MODELS_DIR: start it once before changing anything. With the
embedded database (no DATABASE_URL), stop the server first: PGlite files must not be opened by
two processes at once.`;

export const modelCommand: CliCommand = {
	name: 'model',
	summary:
		'list the model registry, upload a bundle, promote a version, roll a model back, or shadow a version',
	usage,
	run: (args, context) => runAction(actions, args, context)
};

const actions: Record<string, CliAction> = { list, promote, rollback, shadow, unshadow, upload };

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

async function shadow(args: string[], context: CliContext): Promise<number> {
	const { values, positionals } = parse(args, { reason: { type: 'string' } });
	if (positionals.length !== 2) throw new UsageError('shadow takes MODEL and VERSION.');
	const [model, version] = positionals;
	const { db } = await context.database();
	const change = await shadowVersion(db, context.actor, { model, version, reason: values.reason ?? '' });
	context.stdout.write(
		`${change.model}@${change.version} is now in shadow (was ${change.from}); generation ${change.generation}.\n`
	);
	return 0;
}

async function unshadow(args: string[], context: CliContext): Promise<number> {
	const { values, positionals } = parse(args, { reason: { type: 'string' } });
	if (positionals.length !== 1) throw new UsageError('unshadow takes MODEL.');
	const { db } = await context.database();
	const change = await unshadowModel(db, context.actor, {
		model: positionals[0],
		reason: values.reason ?? ''
	});
	context.stdout.write(
		`${change.model}@${change.version} is out of shadow, now ${change.state}; generation ${change.generation}.\n`
	);
	return 0;
}

async function upload(args: string[], context: CliContext): Promise<number> {
	const { values, positionals } = parse(args, { reason: { type: 'string' } });
	if (positionals.length !== 1) throw new UsageError('upload takes FILE.');
	let archive: Buffer;
	try {
		archive = await readFile(positionals[0] as string);
	} catch (error) {
		throw new UsageError(`cannot read ${positionals[0]}: ${(error as Error).message}`);
	}
	const { db } = await context.database();
	const bundleDir = await mkdtemp(path.join(os.tmpdir(), 'credible-upload-'));
	const pool = await InferencePool.start({ size: 1 });
	try {
		const { result } = await uploadBundle({ db, pool, bundleDir }, context.actor, {
			archive: archive.toString('base64'),
			reason: values.reason ?? ''
		});
		context.stdout.write(
			`${result.model}@${result.version} registered as ${result.state}: ${result.goldenRows} golden rows reproduced (max error ${result.maxProbabilityError.toExponential(1)} on the probability, ${result.maxShapError.toExponential(1)} on SHAP).\n`
		);
		return 0;
	} finally {
		await pool.close();
		await rm(bundleDir, { recursive: true, force: true });
	}
}

function printed(change: RegistryChange, context: CliContext): number {
	context.stdout.write(
		`${change.model}: champion is now ${change.champion} (was ${change.previous}, now ${change.previousState}); generation ${change.generation}.\n`
	);
	return 0;
}
