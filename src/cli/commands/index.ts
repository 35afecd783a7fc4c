/**
 * Every CLI command, in the order `--help` lists them. To add one, write
 * `commands/<name>.ts` exporting a `CliCommand` and add it here.
 */
import { backupCommand, restoreCommand } from './backup';
import { driftCommand } from './drift';
import { migrateCommand } from './migrate';
import { modelCommand } from './model';
import { serviceAccountCommand } from './service-account';
import type { CliCommand } from './types';
import { userCommand } from './user';

export const commands: readonly CliCommand[] = [
	serviceAccountCommand,
	userCommand,
	modelCommand,
	driftCommand,
	migrateCommand,
	backupCommand,
	restoreCommand
];

export type { CliCommand } from './types';
