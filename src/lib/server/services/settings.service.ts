/**
 * Instance-wide security settings that administrators change at run time. Read on every
 * authenticated request, so each instance caches them for a few seconds: a change made on one
 * instance reaches the others within `CACHE_MS`.
 */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db';
import { appSettings } from '../db/schema';
import type { Env } from '../env';
import { recordAudit, type AuditActor } from './audit.service';

const REQUIRE_TWO_FACTOR = 'require_two_factor';
const CACHE_MS = 5_000;

export interface SecuritySettings {
	/** Every person must use two-factor authentication (administrators always must). */
	requireTwoFactor: boolean;
	/** True when no administrator has chosen yet and the built-in default applies. */
	isDefault: boolean;
}

const cache = new WeakMap<Database, { value: SecuritySettings; at: number }>();

/** Default when nobody has chosen: on in production, off in development and tests. */
export function defaultRequireTwoFactor(config: Pick<Env, 'NODE_ENV'>): boolean {
	return config.NODE_ENV === 'production';
}

export async function getSecuritySettings(
	db: Database,
	config: Pick<Env, 'NODE_ENV'>,
	now = Date.now()
): Promise<SecuritySettings> {
	const cached = cache.get(db);
	if (cached && now - cached.at < CACHE_MS) return cached.value;
	const [row] = await db.select().from(appSettings).where(eq(appSettings.key, REQUIRE_TWO_FACTOR));
	const parsed = z.boolean().safeParse(row?.value);
	const value: SecuritySettings = parsed.success
		? { requireTwoFactor: parsed.data, isDefault: false }
		: { requireTwoFactor: defaultRequireTwoFactor(config), isDefault: true };
	cache.set(db, { value, at: now });
	return value;
}

export interface SettingsCaller {
	actor: AuditActor;
	ip?: string | null;
	requestId?: string | null;
}

/**
 * Saves `value` under `key` of `app_settings` with the `settings.update` audit entry, in the caller's
 * transaction (so that a failed audit keeps the old value).
 */
export async function writeSetting(
	tx: Pick<Database, 'insert'>,
	caller: SettingsCaller,
	key: string,
	value: unknown,
	details: Record<string, unknown>
): Promise<void> {
	const updated = { value, updatedBy: caller.actor.id, updatedAt: new Date() };
	await tx
		.insert(appSettings)
		.values({ key, ...updated })
		.onConflictDoUpdate({ target: appSettings.key, set: updated });
	await recordAudit(tx, {
		actor: caller.actor,
		action: 'settings.update',
		target: { type: 'setting', id: key },
		ip: caller.ip,
		requestId: caller.requestId,
		details
	});
}

/** Turns "require two-factor authentication for everyone" on or off, with an audit entry. */
export async function setRequireTwoFactor(
	db: Database,
	caller: SettingsCaller,
	value: boolean
): Promise<void> {
	await db.transaction((tx) =>
		writeSetting(tx, caller, REQUIRE_TWO_FACTOR, value, { requireTwoFactor: value })
	);
	cache.delete(db);
}
