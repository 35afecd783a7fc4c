import type { AuthStage } from '$lib/server/auth/access';
import type { SessionRecord, SessionUser } from '$lib/server/auth/session';
import type { Principal } from '$lib/server/auth/principal';
import type { Core } from '$lib/server/core-types';

declare global {
	namespace App {
		interface Error {
			message: string;
			errorId?: string;
		}
		interface Locals {
			requestId: string;
			/** The running application, set by the first hook from the composition root. */
			core: Core;
			/** Set only for a fully signed-in person or a service with a valid bearer token. */
			principal: Principal | null;
			/** The browser session, whatever its stage (see `authStage`). */
			session: SessionRecord | null;
			/** The session's person, whatever the stage. */
			user: SessionUser | null;
			/** How far the session has got; `active` means `principal` is set. */
			authStage: AuthStage | null;
		}
	}
}

export {};
