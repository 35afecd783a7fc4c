import { createCallerFactory, router } from './trpc';
import { auditRouter } from './routers/audit';
import { driftRouter } from './routers/drift';
import { historyRouter } from './routers/history';
import { modelsRouter } from './routers/models';
import { monitoringRouter } from './routers/monitoring';
import { outcomesRouter } from './routers/outcomes';
import { kpisRouter } from './routers/kpis';
import { performanceRouter } from './routers/performance';
import { noticesRouter } from './routers/notices';
import { predictionsRouter } from './routers/predictions';
import { reportsRouter } from './routers/reports';
import { reviewsRouter } from './routers/reviews';
import { scoringRouter } from './routers/scoring';
import { securityRouter } from './routers/security';
import { systemRouter } from './routers/system';
import { usersRouter } from './routers/users';

export const appRouter = router({
	system: systemRouter,
	models: modelsRouter,
	scoring: scoringRouter,
	users: usersRouter,
	audit: auditRouter,
	history: historyRouter,
	security: securityRouter,
	monitoring: monitoringRouter,
	reviews: reviewsRouter,
	outcomes: outcomesRouter,
	performance: performanceRouter,
	kpis: kpisRouter,
	predictions: predictionsRouter,
	notices: noticesRouter,
	drift: driftRouter,
	reports: reportsRouter
});

export type AppRouter = typeof appRouter;

/** Calls procedures in-process (page loads, the REST fast path, tests). */
export const createCaller = createCallerFactory(appRouter);
