import type { Role } from '$lib/server/db/schema';
import { callerFor } from '$lib/server/trpc/caller';
import type { PageServerLoad } from './$types';

const KPI_ROLES: readonly Role[] = ['executive', 'risk_manager', 'admin'];
const WATCH_ROLES: readonly Role[] = ['risk_manager', 'admin'];

/**
 * The home page: the product page for visitors, and for a signed-in person what their role is for
 * — the decision figures (executives, risk managers, administrators), recent decisions and open
 * alerts (risk managers, administrators), the system's state and pending tasks (administrators).
 * Everything is read through the procedures, so each figure follows the procedure's access rule.
 */
export const load: PageServerLoad = async (event) => {
	const { principal, authStage } = event.locals;
	if (!principal || principal.kind !== 'user' || authStage !== 'active') return { home: null };
	const role = principal.role;
	const caller = callerFor(event);
	const [kpis, recent, alerts, health, notices] = await Promise.all([
		KPI_ROLES.includes(role) ? caller.kpis.summary({}) : null,
		WATCH_ROLES.includes(role) ? caller.history.list({ limit: 5 }) : null,
		WATCH_ROLES.includes(role) ? caller.monitoring.alerts({ limit: 200 }) : null,
		role === 'admin' ? caller.system.health() : null,
		role === 'admin' ? caller.notices.settings() : null
	]);
	const open = alerts?.filter((alert) => alert.status !== 'resolved') ?? null;
	return {
		home: {
			role,
			kpis,
			recent: recent?.rows.map((row) => ({
				id: row.id,
				createdAt: row.createdAt.toISOString(),
				model: row.modelId,
				decision: row.decision,
				probability: row.probability,
				applicationId: row.applicationId
			})),
			openAlerts: open?.slice(0, 5) ?? null,
			openAlertCount: open?.length ?? null,
			unacknowledged: open?.filter((alert) => alert.status === 'raised').length ?? null,
			health,
			noticesUnset: notices?.isDefault ?? null
		}
	};
};
