import type { Role } from '../db/schema';

/** Who is calling: a signed-in person or a service account. Shared by every transport and service. */
export interface Principal {
	kind: 'user' | 'service';
	id: string;
	name: string;
	role: Role;
}
