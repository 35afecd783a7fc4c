/** What form actions pass to the authentication services about the request and the session. */
import { redirect, type RequestEvent } from '@sveltejs/kit';
import {
	peopleAuthFor,
	type CurrentSession,
	type PeopleAuth,
	type RequestMeta
} from '../services/auth.service';
import { safeReturnPath, stagePath, type AuthStage } from './access';
import { setCookie } from './handles';
import type { SessionRecord } from './session';

export function requestMeta(event: RequestEvent): RequestMeta {
	let ip: string | null = null;
	try {
		ip = event.getClientAddress();
	} catch {
		ip = null;
	}
	return { ip, userAgent: event.request.headers.get('user-agent'), requestId: event.locals.requestId };
}

/** The people-authentication services of the running application. */
export function peopleAuth(event: Pick<RequestEvent, 'locals'>): PeopleAuth {
	const core = event.locals.core;
	return peopleAuthFor(core.database.db, core.env);
}

/** The browser's session; the route guard has already made sure there is one. */
export function currentSession(event: RequestEvent): CurrentSession {
	const { session, user } = event.locals;
	if (!session || !user) redirect(303, '/login');
	return { session, user };
}

/** Sends the new session's cookie with the response. */
export function startSession(event: RequestEvent, session: SessionRecord): void {
	const auth = peopleAuth(event);
	setCookie(event.cookies, auth.sessions.cookie(session));
}

/** Where to go once a step is done: the next step, or the page the person first asked for. */
export function nextPath(stage: AuthStage, url: URL): string {
	if (stage !== 'active') {
		const back = safeReturnPath(url.searchParams.get('redirectTo'));
		const query = back ? `?redirectTo=${encodeURIComponent(back)}` : '';
		return `${stagePath(stage)}${query}`;
	}
	return safeReturnPath(url.searchParams.get('redirectTo')) ?? '/';
}
