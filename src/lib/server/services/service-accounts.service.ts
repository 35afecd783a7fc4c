/**
 * Service accounts: the machine clients of the API. An administrator (or the CLI) creates one and
 * receives its client id and secret once; the service exchanges them for short-lived access
 * tokens (OAuth 2.0 client credentials); revoking the account stops new tokens at once and
 * existing ones within the account-status cache bound (`AUTH_CACHE_SECONDS`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { asc, eq, getTableColumns, isNull, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AccountStatusCache } from '../auth/account-status';
import type { AccessTokens, IssuedToken } from '../auth/jwt';
import type { Database } from '../db';
import { roles, serviceAccounts, type Role, type ServiceAccount } from '../db/schema';
import { Conflict, Forbidden, isUniqueViolation, NotFound, ValidationFailed } from '../errors';
import type { Principal } from '../auth/principal';
import { toFieldErrors } from '../../validation/field-errors';
import { recordAudit, type AuditActor } from './audit.service';

/** No account has that name or client id (404). */
export class ServiceAccountNotFound extends NotFound {}

/** The name is taken (409); names stay taken after revocation so audit entries stay unambiguous. */
export class ServiceAccountExists extends Conflict {}

/** The actor may not manage service accounts (403). */
export class ManagementForbidden extends Forbidden {}

/** Something that is not a person or a service: the CLI, a scheduled job. Trusted like an admin. */
export interface SystemActor {
	kind: 'system';
	id: string;
	name: string;
}

/** Who is asking: a signed-in principal or the system. */
export type Actor = Principal | SystemActor;

/** Where a request came from, for the audit log. */
export interface RequestMeta {
	ip?: string | null;
	requestId?: string | null;
}

/** A service account as shown to anyone: everything but the secret's hash. */
export type ServiceAccountView = Omit<ServiceAccount, 'secretHash'>;

/** Roles a service account may hold: any but `admin` (a leaked machine secret must not own the system). */
export type ServiceAccountRole = Exclude<Role, 'admin'>;
export const serviceAccountRoles = roles.filter((role): role is ServiceAccountRole => role !== 'admin') as [
	ServiceAccountRole,
	...ServiceAccountRole[]
];

export const createServiceAccountInput = z.object({
	name: z
		.string()
		.trim()
		.regex(
			/^[a-z0-9][a-z0-9._-]{1,62}$/,
			'use 2-63 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit'
		),
	role: z
		.enum(serviceAccountRoles, { error: `must be one of: ${serviceAccountRoles.join(', ')}` })
		.default('scorer')
});
export type CreateServiceAccountInput = z.input<typeof createServiceAccountInput>;

export interface CreatedServiceAccount {
	account: ServiceAccountView;
	clientId: string;
	/** Shown once: only its hash is stored. */
	clientSecret: string;
}

/** Why an exchange was refused; the caller only ever says `invalid_client`, the audit log says which. */
export type ExchangeDenial = 'unknown_client' | 'wrong_secret' | 'revoked';

export type ExchangeResult =
	{ ok: true; token: IssuedToken; account: ServiceAccountView } | { ok: false; reason: ExchangeDenial };

export interface ServiceAccountService {
	/** Creates an account; returns its client id and secret, which is never retrievable again. */
	create(actor: Actor, input: CreateServiceAccountInput, meta?: RequestMeta): Promise<CreatedServiceAccount>;
	/** All accounts, oldest first, revoked ones included unless `includeRevoked` is false. */
	list(actor: Actor, options?: { includeRevoked?: boolean }): Promise<ServiceAccountView[]>;
	/** Revokes by name or client id; revoking twice is harmless and reports `alreadyRevoked`. */
	revoke(
		actor: Actor,
		nameOrClientId: string,
		meta?: RequestMeta
	): Promise<{ account: ServiceAccountView; alreadyRevoked: boolean }>;
	/**
	 * Checks a client id and secret and, when they match an active account, signs an access token.
	 * Every outcome is audited (`auth.token_issued` / `auth.token_denied`), never with the secret.
	 */
	exchangeClientCredentials(
		clientId: string,
		clientSecret: string,
		meta?: RequestMeta
	): Promise<ExchangeResult>;
}

export interface ServiceAccountDeps {
	db: Database;
	/** Needed only to exchange credentials; the CLI manages accounts without it. */
	tokens?: Pick<AccessTokens, 'signAccessToken'>;
	/** This instance's status cache, dropped on revocation so the revoking instance sees it at once. */
	accountStatus?: Pick<AccountStatusCache, 'invalidate'>;
}

export const CLIENT_ID_PATTERN = /^svc_[0-9a-f]{24}$/;
const SECRET_BYTES = 32;

/**
 * SHA-256 of a client secret, hex. A fast hash is right here, unlike for passwords: the secret is
 * 256 bits from the CSPRNG, so there is no dictionary to try and brute force over 2^256 is out of
 * reach however fast each guess is. Slow hashes (argon2, bcrypt) exist to protect low-entropy
 * human passwords; on a random secret they would only cost ~50 ms of CPU per token exchange.
 */
export function hashClientSecret(secret: string): string {
	return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
function secretMatches(secret: string, storedHash: string): boolean {
	const presented = createHash('sha256').update(secret, 'utf8').digest();
	const stored = Buffer.from(storedHash, 'hex');
	return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** Compared against when the client id is unknown, so both paths cost one hash and one compare. */
const DUMMY_HASH = hashClientSecret(randomBytes(SECRET_BYTES).toString('base64url'));

const { secretHash: _secretHash, ...viewColumns } = getTableColumns(serviceAccounts);

/** Creates the service around its dependencies. */
export function createServiceAccountService(deps: ServiceAccountDeps): ServiceAccountService {
	const { db } = deps;

	return {
		async create(actor, input, meta) {
			authorizeManagement(actor);
			const parsed = createServiceAccountInput.safeParse(input);
			if (!parsed.success) throw new ValidationFailed(toFieldErrors(parsed.error.issues));
			const { name, role } = parsed.data;
			const clientId = `svc_${randomBytes(12).toString('hex')}`;
			const clientSecret = randomBytes(SECRET_BYTES).toString('base64url');
			try {
				const account = await db.transaction(async (tx) => {
					const [row] = await tx
						.insert(serviceAccounts)
						.values({
							name,
							clientId,
							role,
							secretHash: hashClientSecret(clientSecret),
							createdBy: actorLabel(actor)
						})
						.returning(viewColumns);
					if (!row) throw new Error('insert returned no row');
					await recordAudit(tx, {
						actor: auditActor(actor),
						action: 'service_account.create',
						target: { type: 'service_account', id: row.id },
						...meta,
						details: { name, role, clientId }
					});
					return row;
				});
				return { account, clientId, clientSecret };
			} catch (error) {
				if (isUniqueViolation(error))
					throw new ServiceAccountExists(`A service account named "${name}" already exists.`);
				throw error;
			}
		},

		async list(actor, options = {}) {
			authorizeManagement(actor);
			return db
				.select(viewColumns)
				.from(serviceAccounts)
				.where(options.includeRevoked === false ? isNull(serviceAccounts.revokedAt) : undefined)
				.orderBy(asc(serviceAccounts.createdAt), asc(serviceAccounts.name));
		},

		async revoke(actor, nameOrClientId, meta) {
			authorizeManagement(actor);
			const key = nameOrClientId.trim();
			const result = await db.transaction(async (tx) => {
				const [found] = await tx
					.select(viewColumns)
					.from(serviceAccounts)
					.where(or(eq(serviceAccounts.name, key), eq(serviceAccounts.clientId, key)))
					.limit(1)
					.for('update');
				if (!found) return null;
				if (found.revokedAt) return { account: found, alreadyRevoked: true };
				const [account] = await tx
					.update(serviceAccounts)
					.set({ revokedAt: sql`now()` })
					.where(eq(serviceAccounts.id, found.id))
					.returning(viewColumns);
				await recordAudit(tx, {
					actor: auditActor(actor),
					action: 'service_account.revoke',
					target: { type: 'service_account', id: found.id },
					...meta,
					details: { name: found.name, clientId: found.clientId }
				});
				return { account: account ?? found, alreadyRevoked: false };
			});
			if (!result) throw new ServiceAccountNotFound(`No service account has the name or client id "${key}".`);
			deps.accountStatus?.invalidate(result.account.id);
			return result;
		},

		async exchangeClientCredentials(clientId, clientSecret, meta) {
			const [account] = CLIENT_ID_PATTERN.test(clientId)
				? await db.select().from(serviceAccounts).where(eq(serviceAccounts.clientId, clientId)).limit(1)
				: [];
			const matches = secretMatches(clientSecret, account?.secretHash ?? DUMMY_HASH);
			const reason: ExchangeDenial | null = !account
				? 'unknown_client'
				: !matches
					? 'wrong_secret'
					: account.revokedAt
						? 'revoked'
						: null;
			const actor: AuditActor = { kind: 'service', id: account?.id ?? null, name: account?.name ?? null };
			const target = { type: 'service_account', id: account?.id ?? null };
			// Only a well-formed client id is recorded: a client that pastes its secret into the wrong
			// field must not get it written to the audit log.
			const presented = CLIENT_ID_PATTERN.test(clientId) ? clientId : '(malformed)';

			if (reason || !account) {
				await recordAudit(db, {
					actor,
					action: 'auth.token_denied',
					target,
					...meta,
					details: { clientId: presented, reason: reason ?? 'unknown_client' }
				});
				return { ok: false, reason: reason ?? 'unknown_client' };
			}
			if (!deps.tokens) throw new Error('Token signing is not configured for this service instance.');
			const token = await deps.tokens.signAccessToken({
				id: account.id,
				name: account.name,
				role: account.role
			});
			await db.transaction(async (tx) => {
				await tx
					.update(serviceAccounts)
					.set({ lastUsedAt: sql`now()` })
					.where(eq(serviceAccounts.id, account.id));
				await recordAudit(tx, {
					actor,
					action: 'auth.token_issued',
					target,
					...meta,
					details: { clientId, jti: token.jti, expiresAt: token.expiresAt.toISOString() }
				});
			});
			const { secretHash: _hash, ...view } = account;
			return { ok: true, token, account: view };
		}
	};
}

/** Managing machine credentials is an administrator's job (or the CLI's, run by an operator). */
function authorizeManagement(actor: Actor): void {
	if (actor.kind === 'system') return;
	if (actor.kind === 'user' && actor.role === 'admin') return;
	throw new ManagementForbidden('Only administrators may manage service accounts.');
}

function auditActor(actor: Actor): AuditActor {
	return { kind: actor.kind, id: actor.id, name: actor.name };
}

/** `created_by`: `user:<id>` for a person, `system:<id>` for the CLI and jobs. */
function actorLabel(actor: Actor): string {
	return actor.kind === 'system' ? `system:${actor.id}` : `${actor.kind}:${actor.id}`;
}
