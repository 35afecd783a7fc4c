/**
 * The shape of the running application that the composition root (`core.ts`) builds and the
 * transports receive: types only, so that they depend on this contract and never on `core.ts`.
 */
import type { InferencePool } from '$inference/pool/pool';
import type { Env } from './env';
import type { Database, DatabaseHandle } from './db';
import type { ModelRegistry } from './services/models.service';
import type { ModelLifecycle } from './services/model-lifecycle.service';
import type { PredictionWriter } from './services/prediction-writer';
import type { ScoringService } from './services/scoring';
import type { ShadowScorer } from './services/shadow-scoring';
import type { CounterfactualService } from './services/counterfactual.service';
import type { ApiAuth } from './auth/api-auth';
import type { Cors } from './http/cors';
import type { RateLimiter } from './limits/rate-limit';
import type { Monitoring } from './monitoring';
import type { ReportService } from './services/reports/reports.service';
import type { ReportScheduler } from './services/reports/scheduler';
import type { BacktestRunner } from './services/backtest-runner';

export interface ReadinessCheck {
	name: string;
	check: () => Promise<void>;
}

export interface Core {
	env: Env;
	database: DatabaseHandle;
	/** Shortcut for `database.db`. */
	db: Database;
	models: ModelRegistry;
	/** Promotion and rollback, and keeping `models` equal to the database registry. */
	lifecycle: ModelLifecycle;
	pool: InferencePool;
	writer: PredictionWriter;
	scoring: ScoringService;
	/** Background scoring of champion decisions by a version in shadow (docs/models.md). */
	shadow: ShadowScorer;
	/** Smallest one-feature changes that would turn a decision into approve (portal hints). */
	counterfactuals: CounterfactualService;
	/** Service-account tokens, the account-status cache and the token endpoint's throttle. */
	auth: ApiAuth;
	rateLimiter: RateLimiter;
	cors: Cors;
	startedAt: Date;
	/** Checks behind /readyz; each must resolve for the instance to take traffic. */
	readiness: ReadinessCheck[];
	/** In-process request statistics and the alert engine (see docs/monitoring.md). */
	monitoring: Monitoring;
	/** Scheduled drift-and-performance reports and this instance's schedule (docs/reports.md). */
	reports: { service: ReportService; scheduler: ReportScheduler };
	/** This instance's runner of queued backtests (docs/models.md, "Backtest"). */
	backtests: BacktestRunner;
	stop(): Promise<void>;
}
