/**
 * The report schedule of one instance: a croner job per enabled kind (REPORT_DAILY_CRON,
 * REPORT_WEEKLY_CRON, read in REPORT_TIMEZONE). Every instance runs it; on each occurrence each
 * asks the service to build the report and the claim in the database lets exactly one do it.
 */
import { Cron } from 'croner';
import type { ReportKind } from '../../db/schema';
import { logger } from '../../logger';
import type { ReportService } from './reports.service';

export interface ScheduleConfig {
	daily: string | null;
	weekly: string | null;
	timezone: string;
}

export class ReportScheduler {
	readonly #service: ReportService;
	readonly #config: ScheduleConfig;
	readonly #jobs = new Map<ReportKind, Cron>();
	readonly #running = new Set<Promise<void>>();
	/** Occurrences this instance saw, and how many of them it built (the others were claimed elsewhere). */
	readonly counts = { fired: 0, built: 0 };

	constructor(service: ReportService, config: ScheduleConfig) {
		this.#service = service;
		this.#config = config;
	}

	start(): void {
		for (const kind of ['daily', 'weekly'] as const) {
			const pattern = this.#config[kind];
			if (!pattern || this.#jobs.has(kind)) continue;
			const job = new Cron(
				pattern,
				{ timezone: this.#config.timezone, protect: true, unref: true },
				(self: Cron) => this.#fire(kind, self.currentRun() ?? new Date())
			);
			this.#jobs.set(kind, job);
		}
	}

	/** The next occurrence of each kind; null when not scheduled. */
	next(): Record<ReportKind, string | null> {
		return {
			daily: this.#jobs.get('daily')?.nextRun()?.toISOString() ?? null,
			weekly: this.#jobs.get('weekly')?.nextRun()?.toISOString() ?? null
		};
	}

	/** Stops the jobs and waits for the runs under way and their webhooks. */
	async stop(): Promise<void> {
		for (const job of this.#jobs.values()) job.stop();
		this.#jobs.clear();
		await Promise.all([...this.#running]);
		await this.#service.settled();
	}

	#fire(kind: ReportKind, at: Date): Promise<void> {
		this.counts.fired++;
		const run = this.#service
			.run(kind, at, { trigger: 'schedule' })
			.then((outcome) => {
				if (outcome.created) this.counts.built++;
			})
			.catch((error: unknown) => logger.error({ err: error, kind }, 'scheduled report failed to start'))
			.finally(() => this.#running.delete(run));
		this.#running.add(run);
		return run;
	}
}
