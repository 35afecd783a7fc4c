import type { Principal } from '$lib/server/trpc/trpc';

declare global {
	namespace App {
		interface Error {
			message: string;
			errorId?: string;
		}
		interface Locals {
			requestId: string;
			principal: Principal | null;
		}
	}
}

export {};
