/**
 * Who may open what: the one place where every page and endpoint of the portal declares its rule
 * (tRPC procedures declare theirs through `roleProcedure` / `protectedProcedure` / `publicProcedure`
 * in trpc.ts). Enforced by the `guardRoutes` handle before any load or form action runs; a route
 * missing here is refused, and `tests/integration/access.test.ts` fails until it is added.
 */
import type { Role } from '../db/schema';

/**
 * How far a signed-in browser session has got:
 * - `two_factor`: password accepted, TOTP (or recovery) code still due;
 * - `change_password`: must replace a temporary password before anything else;
 * - `enrol_two_factor`: two-factor authentication is required and not yet set up;
 * - `active`: fully signed in — only now is there a principal.
 */
export type AuthStage = 'two_factor' | 'change_password' | 'enrol_two_factor' | 'active';
export const authStages: readonly AuthStage[] = [
	'two_factor',
	'change_password',
	'enrol_two_factor',
	'active'
];

/** The roles people can hold (`scorer` is for service accounts only). */
export const userRoles = ['admin', 'risk_manager', 'executive', 'viewer'] as const satisfies readonly Role[];
export type UserRole = (typeof userRoles)[number];
export const ALL_USER_ROLES: readonly Role[] = userRoles;

export const roleLabels: Record<Role, string> = {
	admin: 'Administrator',
	risk_manager: 'Risk manager',
	executive: 'Executive',
	viewer: 'Viewer',
	scorer: 'Scoring service'
};

export type RouteRule =
	| { kind: 'public' }
	/** A session in one of these stages (sign-in steps, own account pages). */
	| { kind: 'stages'; stages: readonly AuthStage[] }
	/** A fully signed-in principal holding one of these roles. */
	| { kind: 'roles'; roles: readonly Role[] };

const anyone: RouteRule = { kind: 'public' };
const inStages = (...stages: AuthStage[]): RouteRule => ({ kind: 'stages', stages });
const withRoles = (...roles: Role[]): RouteRule => ({ kind: 'roles', roles });

/** Pages (`+page.svelte`), by SvelteKit route id. Their form actions follow the same rule. */
export const pageAccess: Record<string, RouteRule> = {
	'/': anyone,
	'/login': anyone,
	/** The guard's refusal page (always answers 403). */
	'/forbidden': anyone,
	'/login/2fa': inStages('two_factor'),
	'/logout': inStages(...authStages),
	'/account': withRoles(...ALL_USER_ROLES),
	'/account/password': inStages('change_password', 'active'),
	'/account/2fa': inStages('enrol_two_factor', 'active'),
	'/admin': withRoles('admin'),
	'/admin/users': withRoles('admin'),
	'/admin/users/[id]': withRoles('admin'),
	'/admin/service-accounts': withRoles('admin'),
	'/admin/audit': withRoles('admin'),
	'/admin/notices': withRoles('admin'),
	'/monitoring': withRoles('admin', 'risk_manager'),
	'/monitoring/alerts': withRoles('admin', 'risk_manager'),
	'/monitoring/performance': withRoles('admin', 'risk_manager'),
	'/monitoring/drift': withRoles('admin', 'risk_manager'),
	'/monitoring/reports': withRoles('admin', 'risk_manager'),
	'/score': withRoles('admin', 'risk_manager'),
	'/score/[model]': withRoles('admin', 'risk_manager'),
	'/models': withRoles(...ALL_USER_ROLES),
	'/models/[model]': withRoles(...ALL_USER_ROLES),
	/** The version in shadow against the champion. */
	'/models/[model]/shadow': withRoles('admin', 'risk_manager'),
	/** Backtests of a model and each one's comparison (starting one: administrators, in the procedure). */
	'/models/[model]/backtests': withRoles('admin', 'risk_manager'),
	'/models/[model]/backtests/[id]': withRoles('admin', 'risk_manager'),
	'/history': withRoles('admin', 'risk_manager'),
	'/history/[id]': withRoles('admin', 'risk_manager'),
	/** The printable adverse-action notice of a declined or referred decision. */
	'/history/[id]/notice': withRoles('admin', 'risk_manager'),
	'/batch': withRoles('admin', 'risk_manager'),
	'/outcomes': withRoles('admin', 'risk_manager'),
	'/guide': withRoles(...ALL_USER_ROLES),
	/** The instance's readiness in words (the navigation's Status link). */
	'/status': anyone
};

/** Endpoints (`+server.ts`), by route id. `/trpc` is not a route: procedures carry their own rule. */
export const endpointAccess: Record<string, RouteRule> = {
	'/healthz': anyone,
	'/readyz': anyone,
	/** Swagger UI of the REST API (the document is public; calls need a token). */
	'/api/docs': anyone,
	'/api/docs/[asset]': anyone,
	/** The REST API: its own bearer authentication, and each procedure's rule. */
	'/api/v1/[...path]': anyone,
	/** Batch scoring from the portal: the CSV template, checking a chunk, scoring a chunk. */
	'/batch/[model]/template': withRoles('admin', 'risk_manager'),
	'/batch/[model]/check': withRoles('admin', 'risk_manager'),
	'/batch/[model]/score': withRoles('admin', 'risk_manager'),
	/** Outcome upload from the portal: the CSV template, checking a chunk of the file, recording it. */
	'/outcomes/template': withRoles('admin', 'risk_manager'),
	'/outcomes/check': withRoles('admin', 'risk_manager'),
	'/outcomes/record': withRoles('admin', 'risk_manager'),
	/** The history's matching decisions as a CSV download (a data export, audited). */
	'/history/export.csv': withRoles('admin', 'risk_manager'),
	/** The adverse-action notice as a PDF download (a data export, audited). */
	'/history/[id]/notice.pdf': withRoles('admin', 'risk_manager'),
	/** A scheduled report as an HTML, PDF or CSV download. */
	'/monitoring/reports/[id].[format]': withRoles('admin', 'risk_manager'),
	/** A notice with made-up applicant data, to check the lender's details. */
	'/admin/notices/preview.pdf': withRoles('admin')
};

export type RouteKind = 'page' | 'endpoint';

/** The rule of a route id and whether it is a page or an endpoint; null when none is declared. */
export function ruleFor(routeId: string): { rule: RouteRule; kind: RouteKind } | null {
	const page = pageAccess[routeId];
	if (page) return { rule: page, kind: 'page' };
	const endpoint = endpointAccess[routeId];
	return endpoint ? { rule: endpoint, kind: 'endpoint' } : null;
}

/** The roles a route is open to, when its rule is a list of roles; null otherwise. */
export function rolesFor(routeId: string): readonly Role[] | null {
	const rule = ruleFor(routeId)?.rule;
	return rule?.kind === 'roles' ? rule.roles : null;
}

export interface Visitor {
	/** Role of the fully signed-in principal (person or service); null otherwise. */
	role: Role | null;
	/** Stage of the browser session; null without one. */
	stage: AuthStage | null;
}

export type AccessDecision =
	| { outcome: 'allow' }
	/** Not signed in: 401, or a redirect to the sign-in page. */
	| { outcome: 'sign_in' }
	/** Signed in but a step is due first: go there. */
	| { outcome: 'continue'; path: string }
	/** Signed in without the role: 403. */
	| { outcome: 'forbidden' };

export function decide(rule: RouteRule, visitor: Visitor): AccessDecision {
	switch (rule.kind) {
		case 'public':
			return { outcome: 'allow' };
		case 'stages':
			if (visitor.stage && rule.stages.includes(visitor.stage)) return { outcome: 'allow' };
			if (visitor.stage) return { outcome: 'continue', path: stagePath(visitor.stage) };
			return { outcome: 'sign_in' };
		case 'roles':
			if (visitor.role && rule.roles.includes(visitor.role)) return { outcome: 'allow' };
			if (visitor.role) return { outcome: 'forbidden' };
			if (visitor.stage && visitor.stage !== 'active')
				return { outcome: 'continue', path: stagePath(visitor.stage) };
			return { outcome: 'sign_in' };
	}
}

/** True when the visitor may open the page `routeId` (for navigation links). */
export function canOpen(routeId: string, visitor: Visitor): boolean {
	const found = ruleFor(routeId);
	return !!found && decide(found.rule, visitor).outcome === 'allow';
}

/** Where a session in `stage` continues. */
export function stagePath(stage: AuthStage): string {
	switch (stage) {
		case 'two_factor':
			return '/login/2fa';
		case 'change_password':
			return '/account/password';
		case 'enrol_two_factor':
			return '/account/2fa';
		case 'active':
			return '/';
	}
}

export interface StageInput {
	user: { role: Role; mustChangePassword: boolean; totpEnabled: boolean };
	session: { twoFactorVerified: boolean };
	/** The instance-wide "require two-factor authentication for everyone" setting. */
	requireTwoFactorForAll: boolean;
}

/** Administrators always need a second factor; everyone else when the setting says so. */
export function twoFactorRequired(role: Role, requireTwoFactorForAll: boolean): boolean {
	return role === 'admin' || requireTwoFactorForAll;
}

/** The stage of a session: enrolled users prove the second factor first, then the other duties. */
export function stageOf({ user, session, requireTwoFactorForAll }: StageInput): AuthStage {
	if (user.totpEnabled && !session.twoFactorVerified) return 'two_factor';
	if (user.mustChangePassword) return 'change_password';
	if (!user.totpEnabled && twoFactorRequired(user.role, requireTwoFactorForAll)) return 'enrol_two_factor';
	return 'active';
}

const RETURN_BASE = 'http://return.invalid';

/**
 * A same-site path to return to after signing in, or null (no open redirects). Percent-encoded
 * (`/к` becomes `/%D0%BA`): it goes back in a `Location` header, which holds ASCII only.
 */
export function safeReturnPath(value: string | null | undefined): string | null {
	if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return null;
	if (value.length > 1000 || [...value].some((char) => char.charCodeAt(0) < 32)) return null;
	const url = new URL(value, RETURN_BASE);
	if (url.origin !== RETURN_BASE) return null;
	return url.pathname + url.search + url.hash;
}
