import { createCore } from '$lib/server/core';
import type { Core } from '$lib/server/core-types';
import { parseEnv } from '$lib/server/env';
import type { Principal } from '$lib/server/auth/principal';
import type { Context } from '$lib/server/trpc/trpc';
import type { Role } from '$lib/server/db/schema';
import { openTestDatabase, type TestDatabaseKind, type TestDatabase } from './database';

export interface TestCore {
	core: Core;
	database: TestDatabase;
	/** A tRPC context for a principal of this role (null: anonymous). */
	context(role: Role | null, id?: string): Context;
	dispose(): Promise<void>;
}

/** A real core (shipped models, one inference worker) on a fresh test database. */
export async function startTestCore(
	kind: TestDatabaseKind,
	env: Record<string, string> = {}
): Promise<TestCore> {
	const database = await openTestDatabase(kind);
	const core = await createCore(parseEnv(env), database, { ownsDatabase: false, workers: 1 });
	return {
		core,
		database,
		context(role, id = role ?? 'anonymous') {
			const principal: Principal | null = role
				? { kind: role === 'scorer' ? 'service' : 'user', id, name: id, role }
				: null;
			return {
				core,
				principal,
				requestId: `test-${Math.random().toString(36).slice(2)}`,
				ip: null,
				channel: 'trpc'
			};
		},
		async dispose() {
			await core.stop();
			await database.dispose();
		}
	};
}
