/**
 * Scheduled drift-and-performance reports (docs/reports.md): claiming an occurrence, building and
 * storing its report, listing and reading reports, their files, and the completion webhook.
 *
 * Several instances share one database and each runs the schedule; the row of an occurrence
 * (kind, period start) is claimed with `INSERT … ON CONFLICT DO NOTHING RETURNING` against the
 * unique index, so exactly one instance builds it, on PGlite as on PostgreSQL.
 */
import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../../db';
import { reportKinds, reports, type Report, type ReportKind } from '../../db/schema';
import type { Env } from '../../env';
import { domainErrors } from '../../errors';
import { logger } from '../../logger';
import { postWebhook } from '../../monitoring/webhook';
import { recordAudit, type AuditActor } from '../audit.service';
import type { ModelRegistry } from '../models.service';
import { buildReportContent, periodOf, worstSeverity, type ReportContent } from './content';
import { renderReportCsv } from './render-csv';
import { renderReportHtml } from './render-html';
import { renderReportPdf } from './render-pdf';

/** A run that has not finished after this long is taken to be abandoned (its instance stopped). */
export const STALE_RUN_MS = 30 * 60_000;
/** Longest error text kept with a failed report. */
const ERROR_LENGTH = 500;

export const reportFormats = ['html', 'pdf', 'csv'] as const;
export type ReportFormat = (typeof reportFormats)[number];

const contentTypes: Record<ReportFormat, string> = {
	html: 'text/html; charset=utf-8',
	pdf: 'application/pdf',
	csv: 'text/csv; charset=utf-8'
};

export const reportIdSchema = z.strictObject({ id: z.uuid({ error: 'Not a report id.' }) });

export const reportListInput = z.strictObject({
	kind: z.enum(reportKinds, { error: 'Kind must be daily or weekly.' }).optional(),
	limit: z.coerce
		.number({ error: 'A whole number.' })
		.int('A whole number.')
		.min(1, 'At least 1.')
		.max(200, 'At most 200.')
		.default(50)
});
export type ReportListInput = z.input<typeof reportListInput>;

export const runReportInput = z.strictObject({
	kind: z.enum(reportKinds, { error: 'Kind must be daily or weekly.' })
});

export interface ReportSummary {
	models: number;
	predictions: number;
	worstSeverity: 'stable' | 'watch' | 'act' | null;
}

export interface ReportListItem {
	id: string;
	kind: ReportKind;
	periodStart: string;
	periodEnd: string;
	status: Report['status'];
	trigger: 'schedule' | 'manual';
	instance: string;
	requestedBy: string | null;
	error: string | null;
	createdAt: string;
	startedAt: string;
	completedAt: string | null;
	notifiedAt: string | null;
	summary: ReportSummary | null;
}

export interface ReportView extends ReportListItem {
	content: ReportContent | null;
}

export interface ReportFile {
	contentType: string;
	filename: string;
	bytes: Uint8Array;
}

/** What a run did: built the report here, or found the occurrence claimed already. */
export interface RunOutcome {
	created: boolean;
	report: ReportView;
}

export type ReportConfig = Pick<
	Env,
	| 'DRIFT_PSI_WATCH'
	| 'DRIFT_PSI_ACT'
	| 'PERFORMANCE_MATURITY_MONTHS'
	| 'REPORT_WEBHOOK_URL'
	| 'REPORT_WEBHOOK_TIMEOUT_MS'
	| 'ORIGIN'
>;

export interface ReportServiceOptions {
	db: Database;
	models: ModelRegistry;
	config: ReportConfig;
	/** This instance's name, stored with the reports it builds. */
	instance: string;
	clock?: () => number;
}

/** The body the report webhook receives (documented in docs/reports.md). */
export interface ReportWebhookPayload {
	event: 'report.completed';
	instance: string;
	sentAt: string;
	report: {
		id: string;
		kind: ReportKind;
		periodStart: string;
		periodEnd: string;
		completedAt: string | null;
		summary: ReportSummary | null;
	};
	links: { html: string; pdf: string; csv: string; api: string; portal: string };
}

export class ReportService {
	readonly instance: string;
	readonly #options: ReportServiceOptions;
	readonly #clock: () => number;
	readonly #deliveries = new Set<Promise<void>>();

	constructor(options: ReportServiceOptions) {
		this.#options = options;
		this.instance = options.instance;
		this.#clock = options.clock ?? Date.now;
	}

	/**
	 * Builds the report of the occurrence at `at` (of the period before it) unless another run has
	 * it. A scheduled run only claims a new row or one abandoned for {@link STALE_RUN_MS}; a manual
	 * run also retries a failed one. A completed report is never rebuilt.
	 */
	async run(
		kind: ReportKind,
		at: Date,
		options: { trigger: 'schedule' | 'manual'; requestedBy?: string | null } = { trigger: 'schedule' }
	): Promise<RunOutcome> {
		const { db } = this.#options;
		const period = periodOf(kind, at);
		const now = new Date(this.#clock());
		const claim = {
			kind,
			periodStart: period.from,
			periodEnd: period.to,
			status: 'running' as const,
			trigger: options.trigger,
			instance: this.instance,
			requestedBy: options.requestedBy ?? null,
			createdAt: now,
			startedAt: now
		};
		let [claimed] = await db
			.insert(reports)
			.values(claim)
			.onConflictDoNothing({ target: [reports.kind, reports.periodStart] })
			.returning();
		if (!claimed) {
			const staleBefore = new Date(now.getTime() - STALE_RUN_MS);
			const takeable = or(
				and(eq(reports.status, 'running'), lt(reports.startedAt, staleBefore)),
				options.trigger === 'manual' ? eq(reports.status, 'failed') : sql`false`
			);
			[claimed] = await db
				.update(reports)
				.set({
					status: 'running',
					trigger: claim.trigger,
					instance: claim.instance,
					requestedBy: claim.requestedBy,
					startedAt: now,
					error: null
				})
				.where(and(eq(reports.kind, kind), eq(reports.periodStart, period.from), takeable))
				.returning();
		}
		if (!claimed) {
			const [existing] = await db
				.select()
				.from(reports)
				.where(and(eq(reports.kind, kind), eq(reports.periodStart, period.from)));
			if (!existing) throw new Error('report row vanished after a conflicting claim');
			return { created: false, report: viewOf(existing) };
		}
		let finished: Report;
		try {
			const content = await buildReportContent(
				{
					db,
					models: this.#options.models,
					bands: { watch: this.#options.config.DRIFT_PSI_WATCH, act: this.#options.config.DRIFT_PSI_ACT },
					maturityMonths: this.#options.config.PERFORMANCE_MATURITY_MONTHS
				},
				kind,
				period,
				now
			);
			[finished = claimed] = await db
				.update(reports)
				.set({
					status: 'completed',
					content: content as unknown as Record<string, unknown>,
					completedAt: new Date(this.#clock())
				})
				.where(eq(reports.id, claimed.id))
				.returning();
			logger.info(
				{ reportId: finished.id, kind, periodStart: period.from.toISOString(), instance: this.instance },
				'report completed'
			);
			this.#notify(finished);
		} catch (error) {
			logger.error({ err: error, reportId: claimed.id, kind }, 'report failed');
			const message = (error instanceof Error ? error.message : String(error)).slice(0, ERROR_LENGTH);
			[finished = claimed] = await db
				.update(reports)
				.set({ status: 'failed', error: message, completedAt: new Date(this.#clock()) })
				.where(eq(reports.id, claimed.id))
				.returning();
		}
		return { created: true, report: viewOf(finished) };
	}

	/** An administrator's "run now": the last whole period of `kind`, audited. */
	async runNow(
		kind: ReportKind,
		actor: AuditActor,
		meta: { ip: string | null; requestId: string | null }
	): Promise<RunOutcome> {
		const outcome = await this.run(kind, new Date(this.#clock()), {
			trigger: 'manual',
			requestedBy: actor.name ?? actor.id
		});
		await recordAudit(this.#options.db, {
			actor,
			action: 'report.run',
			target: { type: 'report', id: outcome.report.id },
			ip: meta.ip,
			requestId: meta.requestId,
			details: {
				kind,
				periodStart: outcome.report.periodStart,
				created: outcome.created,
				status: outcome.report.status
			}
		});
		return outcome;
	}

	/** Reports, newest period first, without their content. */
	async list(rawInput: ReportListInput = {}): Promise<ReportListItem[]> {
		const input = reportListInput.parse(rawInput);
		const rows = await this.#options.db
			.select()
			.from(reports)
			.where(input.kind ? eq(reports.kind, input.kind) : undefined)
			.orderBy(desc(reports.periodStart), desc(reports.kind))
			.limit(input.limit);
		return rows.map((row) => {
			const { content: _content, ...item } = viewOf(row);
			return item;
		});
	}

	/** One report with its content; unknown id: 404. */
	async get(id: string): Promise<ReportView> {
		const [row] = await this.#options.db.select().from(reports).where(eq(reports.id, id));
		if (!row) throw domainErrors.notFound(`No report ${id}.`);
		return viewOf(row);
	}

	/** A completed report as a file; unknown id 404, a report not completed 409. */
	async file(id: string, format: ReportFormat): Promise<ReportFile> {
		const report = await this.get(id);
		if (report.status !== 'completed' || !report.content)
			throw domainErrors.conflict(`Report ${id} is ${report.status}: only a completed report has files.`);
		const bytes =
			format === 'pdf'
				? await renderReportPdf(report.content, report)
				: new TextEncoder().encode(
						format === 'html'
							? renderReportHtml(report.content, report)
							: renderReportCsv(report.content, report)
					);
		return {
			contentType: contentTypes[format],
			filename: `credible-${report.kind}-report-${report.periodStart.slice(0, 10)}.${format}`,
			bytes
		};
	}

	/** Resolves once the webhook deliveries started so far have finished. */
	async settled(): Promise<void> {
		await Promise.all([...this.#deliveries]);
	}

	/** The webhook payload of a completed report. */
	webhookPayload(report: Report, sentAt: Date): ReportWebhookPayload {
		const base = this.#options.config.ORIGIN?.replace(/\/+$/, '') ?? '';
		const view = viewOf(report);
		return {
			event: 'report.completed',
			instance: this.instance,
			sentAt: sentAt.toISOString(),
			report: {
				id: view.id,
				kind: view.kind,
				periodStart: view.periodStart,
				periodEnd: view.periodEnd,
				completedAt: view.completedAt,
				summary: view.summary
			},
			links: {
				html: `${base}/monitoring/reports/${view.id}.html`,
				pdf: `${base}/monitoring/reports/${view.id}.pdf`,
				csv: `${base}/monitoring/reports/${view.id}.csv`,
				api: `${base}/api/v1/reports/${view.id}`,
				portal: `${base}/monitoring/reports`
			}
		};
	}

	/** Sends the webhook without holding up the run; records a successful delivery. */
	#notify(report: Report): void {
		const { REPORT_WEBHOOK_URL: url, REPORT_WEBHOOK_TIMEOUT_MS: timeoutMs } = this.#options.config;
		if (!url) return;
		const delivery = postWebhook({
			url,
			timeoutMs,
			userAgent: 'Credible-Reports/1',
			body: this.webhookPayload(report, new Date(this.#clock())),
			what: 'report webhook',
			log: { reportId: report.id, kind: report.kind }
		})
			.then(async (ok) => {
				if (ok)
					await this.#options.db
						.update(reports)
						.set({ notifiedAt: new Date(this.#clock()) })
						.where(eq(reports.id, report.id));
			})
			.catch((error: unknown) =>
				logger.warn({ err: error, reportId: report.id }, 'report notification not recorded')
			)
			.finally(() => this.#deliveries.delete(delivery));
		this.#deliveries.add(delivery);
	}
}

function viewOf(row: Report): ReportView {
	const content = row.status === 'completed' ? (row.content as unknown as ReportContent | null) : null;
	return {
		id: row.id,
		kind: row.kind,
		periodStart: row.periodStart.toISOString(),
		periodEnd: row.periodEnd.toISOString(),
		status: row.status,
		trigger: row.trigger === 'manual' ? 'manual' : 'schedule',
		instance: row.instance,
		requestedBy: row.requestedBy,
		error: row.error,
		createdAt: row.createdAt.toISOString(),
		startedAt: row.startedAt.toISOString(),
		completedAt: row.completedAt?.toISOString() ?? null,
		notifiedAt: row.notifiedAt?.toISOString() ?? null,
		summary: content
			? {
					models: content.models.length,
					predictions: content.models.reduce(
						(sum, model) => sum + model.versions.reduce((n, version) => n + version.volume.predictions, 0),
						0
					),
					worstSeverity: worstSeverity(content)
				}
			: null,
		content
	};
}
