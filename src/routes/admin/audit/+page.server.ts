import { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { ValidationFailed } from '$lib/server/errors';
import { toFieldErrors } from '$lib/validation/field-errors';
import { callerFor } from '$lib/server/trpc/caller';
import { isoDay } from '$lib/validation/dates';
import type { PageServerLoad } from './$types';

/** Actions recorded by Credible itself, offered as suggestions (any action may be searched). */
const KNOWN_ACTIONS = [
	'auth.login',
	'auth.login_failed',
	'auth.logout',
	'auth.2fa_verified',
	'auth.2fa_failed',
	'auth.recovery_code_used',
	'auth.token_issued',
	'auth.token_denied',
	'user.create',
	'user.role_change',
	'user.disable',
	'user.enable',
	'user.password_change',
	'user.password_reset',
	'user.unlock',
	'user.2fa_enrol',
	'user.2fa_reset',
	'user.2fa_disable',
	'user.recovery_codes_regenerate',
	'service_account.create',
	'service_account.revoke',
	'settings.update'
];

const DAY_MS = 86_400_000;

export const load: PageServerLoad = async (event) => {
	const params = event.url.searchParams;
	const filters = {
		actor: params.get('actor')?.trim().slice(0, 320) ?? '',
		action: params.get('action')?.trim().slice(0, 100) ?? '',
		targetType: params.get('targetType')?.trim().slice(0, 100) ?? '',
		targetId: params.get('targetId')?.trim().slice(0, 200) ?? '',
		from: params.get('from') ?? '',
		to: params.get('to') ?? ''
	};
	const cursor = params.get('cursor') ?? undefined;
	const caller = callerFor(event);
	const fieldErrors: Record<string, string[]> = {};

	// People are searched by e-mail; the log keeps ids (names and e-mails change).
	let actorId = filters.actor || undefined;
	if (actorId?.includes('@')) {
		const match = (await caller.users.list({ search: actorId })).find(
			(user) => user.email.toLowerCase() === actorId?.toLowerCase()
		);
		if (match) actorId = match.id;
		else fieldErrors.actor = ['No user has this e-mail address.'];
	}
	const from = parseDay(filters.from, 'from', fieldErrors);
	const to = parseDay(filters.to, 'to', fieldErrors);
	if (from && to && to < from) fieldErrors.to = ['The end is before the start.'];

	// Links keep the filters: `newest` drops the cursor, `older` moves it one page on.
	const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== ''));
	const newest = `?${query.toString()}`;
	const older = (next: string | null) => {
		if (!next) return null;
		const withCursor = new URLSearchParams(query);
		withCursor.set('cursor', next);
		return `?${withCursor.toString()}`;
	};
	const base = { filters, knownActions: KNOWN_ACTIONS, fieldErrors, newest: cursor ? newest : null };
	if (Object.keys(fieldErrors).length > 0) return { ...base, entries: [], older: null };
	try {
		const page = await caller.audit.list({
			actor: actorId,
			action: filters.action || undefined,
			target: filters.targetType
				? { type: filters.targetType, id: filters.targetId || undefined }
				: undefined,
			from: from ?? undefined,
			// The end day is inclusive: everything before the next midnight (UTC).
			to: to ? new Date(to.getTime() + DAY_MS) : undefined,
			limit: 50,
			cursor
		});
		return { ...base, entries: page.entries, older: older(page.nextCursor) };
	} catch (error) {
		const cause = error instanceof TRPCError ? error.cause : error;
		if (cause instanceof ValidationFailed)
			return { ...base, fieldErrors: cause.fieldErrors, entries: [], older: null };
		if (cause instanceof ZodError)
			return { ...base, fieldErrors: toFieldErrors(cause.issues), entries: [], older: null };
		throw error;
	}
};

/** A day filter as midnight UTC, null when blank; a refused one is added to `fieldErrors`. */
function parseDay(value: string, name: string, fieldErrors: Record<string, string[]>): Date | null {
	if (value === '') return null;
	const parsed = isoDay.safeParse(value);
	if (parsed.success) return new Date(`${parsed.data}T00:00:00Z`);
	fieldErrors[name] = parsed.error.issues.map((issue) => issue.message);
	return null;
}
