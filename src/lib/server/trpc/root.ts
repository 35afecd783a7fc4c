import { createCallerFactory, router } from './trpc';
import { systemRouter } from './routers/system';

export const appRouter = router({
	system: systemRouter
});

export type AppRouter = typeof appRouter;

/** Calls procedures in-process (page loads, the custom server's fast paths, tests). */
export const createCaller = createCallerFactory(appRouter);
