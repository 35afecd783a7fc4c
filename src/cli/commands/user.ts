/** `user create|list|reset-password|reset-2fa|disable|enable`: people who use the portal. */
import { formatTable, parseOptions as parse, runAction, single, type CliAction } from '../args';
import { UsageError, type CliContext } from '../context';
import { userRoles, type UserRole } from '../../lib/server/auth/access';
import {
	createUser,
	listUsers,
	requireUserByEmail,
	resetUserPassword,
	resetUserTwoFactor,
	setUserDisabled,
	type UserSummary
} from '../../lib/server/services/users.service';
import type { CliCommand } from './types';

const usage = `Usage:
  npm run credible -- user create EMAIL --name NAME --role ROLE [--password PASSWORD]
  npm run credible -- user list
  npm run credible -- user reset-password EMAIL
  npm run credible -- user reset-2fa EMAIL
  npm run credible -- user disable EMAIL
  npm run credible -- user enable EMAIL

  create          Creates a person who must choose a new password at first sign-in. Without
                  --password a random one is printed, once. --role: ${userRoles.join(', ')}.
  list            Lists people with their role and status.
  reset-password  Prints a new random password, to be changed at next sign-in; clears any
                  lock-out and signs the person out everywhere.
  reset-2fa       Removes the person's authenticator (lost phone); they set it up again at next
                  sign-in when two-factor authentication is required.
  disable         Stops the person signing in and ends their sessions.
  enable          Lets a disabled person sign in again.

With the embedded database (no DATABASE_URL), stop the server first: PGlite files must not be
opened by two processes at once.`;

export const userCommand: CliCommand = {
	name: 'user',
	summary: 'create, list, reset, disable or enable the people who use the portal',
	usage,
	run: (args, context) => runAction(actions, args, context)
};

const actions: Record<string, CliAction> = {
	create,
	list,
	'reset-password': resetPassword,
	'reset-2fa': resetTwoFactor,
	disable: (args, context) => setDisabled(args, context, true),
	enable: (args, context) => setDisabled(args, context, false)
};

async function create(args: string[], context: CliContext): Promise<number> {
	const { values, positionals } = parse(args, {
		name: { type: 'string' },
		role: { type: 'string' },
		password: { type: 'string' }
	});
	const email = single(positionals, 'EMAIL');
	if (!values.name?.trim()) throw new UsageError('--name is required.');
	if (!values.role) throw new UsageError('--role is required.');
	if (!isUserRole(values.role)) throw new UsageError(`--role must be one of: ${userRoles.join(', ')}.`);
	if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError(`"${email}" is not an e-mail address.`);
	const { db } = await context.database();
	const { user, temporaryPassword } = await createUser(
		db,
		{ actor: context.actor },
		{ email, name: values.name, role: values.role, password: values.password }
	);
	context.stdout.write(
		[
			`Created ${user.email} (${user.name}, role ${user.role}, id ${user.id}).`,
			temporaryPassword ? `  temporary password: ${temporaryPassword}` : '  password: as given',
			'They must choose a new password at first sign-in.',
			''
		].join('\n')
	);
	return 0;
}

async function list(args: string[], context: CliContext): Promise<number> {
	const { positionals } = parse(args, {});
	if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}".`);
	const { db } = await context.database();
	const people = await listUsers(db);
	context.stdout.write(people.length === 0 ? 'No users.\n' : table(people));
	return 0;
}

async function resetPassword(args: string[], context: CliContext): Promise<number> {
	const user = await target(args, context);
	const { db } = await context.database();
	const { temporaryPassword } = await resetUserPassword(db, { actor: context.actor }, user.id);
	context.stdout.write(
		`New temporary password for ${user.email}: ${temporaryPassword}\n` +
			'It is shown once; they must change it at next sign-in. Their sessions have ended.\n'
	);
	return 0;
}

async function resetTwoFactor(args: string[], context: CliContext): Promise<number> {
	const user = await target(args, context);
	const { db } = await context.database();
	await resetUserTwoFactor(db, { actor: context.actor }, user.id);
	context.stdout.write(`Removed the authenticator of ${user.email}; their sessions have ended.\n`);
	return 0;
}

async function setDisabled(args: string[], context: CliContext, disabled: boolean): Promise<number> {
	const user = await target(args, context);
	const { db } = await context.database();
	await setUserDisabled(db, { actor: context.actor }, user.id, disabled);
	context.stdout.write(
		disabled ? `Disabled ${user.email}; their sessions have ended.\n` : `Enabled ${user.email}.\n`
	);
	return 0;
}

async function target(args: string[], context: CliContext): Promise<UserSummary> {
	const { positionals } = parse(args, {});
	const email = single(positionals, 'EMAIL');
	const { db } = await context.database();
	return requireUserByEmail(db, email);
}

function isUserRole(value: string): value is UserRole {
	return (userRoles as readonly string[]).includes(value);
}

function table(people: UserSummary[]): string {
	const rows = [
		['EMAIL', 'NAME', 'ROLE', '2FA', 'STATUS'],
		...people.map((user) => [
			user.email,
			user.name,
			user.role,
			user.totpEnabled ? 'on' : 'off',
			user.disabled ? 'disabled' : user.locked ? 'locked' : 'active'
		])
	];
	return formatTable(rows);
}
