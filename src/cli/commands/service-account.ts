/** `service-account create|list|revoke`: machine credentials for the API. */
import { formatTable, parseOptions as parse, runAction, single, type CliAction } from '../args';
import { UsageError, type CliContext } from '../context';
import {
	createServiceAccountService,
	serviceAccountRoles,
	type ServiceAccountView
} from '../../lib/server/services/service-accounts.service';
import type { CliCommand } from './types';

const usage = `Usage:
  npm run credible -- service-account create NAME [--role ROLE] [--json]
  npm run credible -- service-account list [--active] [--json]
  npm run credible -- service-account revoke NAME|CLIENT_ID

  create   Creates an account and prints its client id and secret, once.
           --role  one of ${serviceAccountRoles.join(', ')} (default scorer)
  list     Lists accounts (--active: only those not revoked).
  revoke   Revokes an account: new tokens are refused at once, tokens already issued
           within AUTH_CACHE_SECONDS (default 5 s) on every running instance.

With the embedded database (no DATABASE_URL), stop the server first: PGlite files must not be
opened by two processes at once.`;

export const serviceAccountCommand: CliCommand = {
	name: 'service-account',
	summary: 'create, list or revoke the service accounts that call the API',
	usage,
	run: (args, context) => runAction(actions, args, context)
};

const actions: Record<string, CliAction> = {
	create,
	list,
	revoke
};

async function service(context: CliContext) {
	const { db } = await context.database();
	return createServiceAccountService({ db });
}

async function create(args: string[], context: CliContext): Promise<number> {
	const { values, positionals } = parse(args, {
		role: { type: 'string' },
		json: { type: 'boolean' }
	});
	const name = single(positionals, 'NAME');
	const created = await (await service(context)).create(context.actor, { name, role: values.role as never });
	const warning =
		'Store the secret now (e.g. in your secret manager): Credible keeps only its hash and cannot show it again.\n';
	if (values.json) {
		const { account, clientId, clientSecret } = created;
		context.stdout.write(
			`${JSON.stringify({ id: account.id, name: account.name, role: account.role, clientId, clientSecret }, null, 2)}\n`
		);
		context.stderr.write(warning);
		return 0;
	}
	context.stdout.write(
		[
			`Created service account "${created.account.name}" (role ${created.account.role}, id ${created.account.id}).`,
			'',
			`  client_id:     ${created.clientId}`,
			`  client_secret: ${created.clientSecret}`,
			'',
			warning
		].join('\n')
	);
	return 0;
}

async function list(args: string[], context: CliContext): Promise<number> {
	const { values, positionals } = parse(args, { active: { type: 'boolean' }, json: { type: 'boolean' } });
	if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}".`);
	const accounts = await (await service(context)).list(context.actor, { includeRevoked: !values.active });
	if (values.json) {
		context.stdout.write(`${JSON.stringify(accounts, null, 2)}\n`);
		return 0;
	}
	if (accounts.length === 0) {
		context.stdout.write('No service accounts.\n');
		return 0;
	}
	context.stdout.write(table(accounts));
	return 0;
}

async function revoke(args: string[], context: CliContext): Promise<number> {
	const { positionals } = parse(args, {});
	const key = single(positionals, 'NAME|CLIENT_ID');
	const { account, alreadyRevoked } = await (await service(context)).revoke(context.actor, key);
	const cacheSeconds = context.env().AUTH_CACHE_SECONDS;
	context.stdout.write(
		alreadyRevoked
			? `Service account "${account.name}" was already revoked at ${account.revokedAt?.toISOString()}.\n`
			: `Revoked service account "${account.name}" (${account.clientId}). New tokens are refused now; ` +
					`tokens already issued stop working within ${cacheSeconds} s on every running instance.\n`
	);
	return 0;
}

function table(accounts: ServiceAccountView[]): string {
	const rows = [
		['NAME', 'CLIENT_ID', 'ROLE', 'STATUS', 'CREATED', 'LAST TOKEN'],
		...accounts.map((account) => [
			account.name,
			account.clientId,
			account.role,
			account.revokedAt ? `revoked ${day(account.revokedAt)}` : 'active',
			day(account.createdAt),
			account.lastUsedAt ? account.lastUsedAt.toISOString().slice(0, 16).replace('T', ' ') : '-'
		])
	];
	return formatTable(rows);
}

function day(date: Date): string {
	return date.toISOString().slice(0, 10);
}
