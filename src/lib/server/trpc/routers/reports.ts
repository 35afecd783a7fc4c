import { z } from 'zod';
import { reportKinds, reportStatuses } from '../../db/schema';
import {
	reportIdSchema,
	reportListInput,
	runReportInput,
	type ReportFormat
} from '../../services/reports/reports.service';
import { fileOutput, roleProcedure, router, toFileOutput } from '../trpc';

/** Who reads reports: risk managers and administrators; who runs one now: administrators. */
const readers = roleProcedure('risk_manager', 'admin');
const runners = roleProcedure('admin');

const severity = z.enum(['stable', 'watch', 'act']).nullable();
const nullableNumber = z.number().nullable();

const reportItem = z.object({
	id: z.uuid(),
	kind: z.enum(reportKinds),
	periodStart: z.string().describe('First instant of the period (UTC).'),
	periodEnd: z.string().describe('First instant after the period (UTC).'),
	status: z.enum(reportStatuses),
	trigger: z.enum(['schedule', 'manual']),
	instance: z.string().describe('The instance that built it.'),
	requestedBy: z.string().nullable(),
	error: z.string().nullable(),
	createdAt: z.string(),
	startedAt: z.string(),
	completedAt: z.string().nullable(),
	notifiedAt: z.string().nullable().describe('When the webhook accepted the completion, if it did.'),
	summary: z
		.object({ models: z.number().int(), predictions: z.number().int(), worstSeverity: severity })
		.nullable()
});

const versionReport = z.object({
	version: z.string(),
	champion: z.boolean(),
	loaded: z.boolean(),
	volume: z.object({
		predictions: z.number().int(),
		approve: z.number().int(),
		review: z.number().int(),
		decline: z.number().int()
	}),
	drift: z
		.object({
			score: z.object({ psi: z.number(), severity }),
			features: z.array(
				z.object({
					feature: z.string(),
					kind: z.enum(['numeric', 'categorical']),
					psi: z.number(),
					severity,
					missingRateChange: z.number()
				})
			)
		})
		.nullable(),
	estimated: z
		.object({
			auc: nullableNumber,
			defaultRate: nullableNumber,
			badRateApproved: nullableNumber,
			approvalRate: nullableNumber
		})
		.nullable(),
	realised: z
		.object({
			cohort: z.object({ from: z.string(), to: z.string() }),
			n: z.number().int(),
			defaults: z.number().int(),
			defaultRate: z.number(),
			auc: nullableNumber,
			aucLower: nullableNumber,
			aucUpper: nullableNumber,
			gini: nullableNumber,
			ks: nullableNumber,
			brier: nullableNumber,
			badRateApproved: nullableNumber,
			expectedAuc: nullableNumber,
			expectedBadRateApproved: nullableNumber
		})
		.nullable()
});

const reportContent = z.object({
	kind: z.enum(reportKinds),
	period: z.object({ from: z.string(), to: z.string() }),
	generatedAt: z.string(),
	bands: z.object({ watch: z.number(), act: z.number() }),
	maturityMonths: z.number().int(),
	models: z.array(
		z.object({
			model: z.string(),
			name: z.string().nullable(),
			champion: z.string().nullable(),
			versions: z.array(versionReport)
		})
	)
});

const scheduled = z
	.object({
		pattern: z.string().describe('Cron pattern.'),
		next: z.string().nullable().describe('Next occurrence.')
	})
	.nullable()
	.describe('Null when this kind is not scheduled.');
const schedule = z.object({ timezone: z.string(), daily: scheduled, weekly: scheduled });

const reportView = reportItem.extend({ content: reportContent.nullable() });

/** One download procedure per format, so that each REST route documents its own content type. */
function download(format: ReportFormat, contentType: string) {
	return readers
		.meta({
			openapi: {
				method: 'GET',
				path: `/reports/{id}/${format}`,
				tags: ['reports'],
				summary: `A completed report as ${format.toUpperCase()}`,
				protect: true
			},
			file: { contentType }
		})
		.input(reportIdSchema)
		.output(fileOutput)
		.query(async ({ ctx, input }) => toFileOutput(await ctx.core.reports.service.file(input.id, format)));
}

/** Scheduled drift-and-performance reports (docs/reports.md). */
export const reportsRouter = router({
	list: readers
		.meta({
			openapi: {
				method: 'GET',
				path: '/reports',
				tags: ['reports'],
				summary: 'Reports, newest period first',
				protect: true
			}
		})
		.input(reportListInput)
		.output(z.object({ reports: z.array(reportItem), schedule }))
		.query(async ({ ctx, input }) => {
			const next = ctx.core.reports.scheduler.next();
			const {
				REPORT_DAILY_CRON: daily,
				REPORT_WEEKLY_CRON: weekly,
				REPORT_TIMEZONE: timezone
			} = ctx.core.env;
			return {
				reports: await ctx.core.reports.service.list(input),
				schedule: {
					timezone,
					daily: daily ? { pattern: daily, next: next.daily } : null,
					weekly: weekly ? { pattern: weekly, next: next.weekly } : null
				}
			};
		}),

	get: readers
		.meta({
			openapi: {
				method: 'GET',
				path: '/reports/{id}',
				tags: ['reports'],
				summary: 'One report with its content',
				protect: true
			}
		})
		.input(reportIdSchema)
		.output(reportView)
		.query(({ ctx, input }) => ctx.core.reports.service.get(input.id)),

	html: download('html', 'text/html'),
	pdf: download('pdf', 'application/pdf'),
	csv: download('csv', 'text/csv'),

	/** Builds the report of the last whole period now, unless it exists (audited). */
	run: runners
		.meta({
			openapi: {
				method: 'POST',
				path: '/reports',
				tags: ['reports'],
				summary: 'Build the report of the last whole day or week now',
				protect: true
			}
		})
		.input(runReportInput)
		.output(z.object({ created: z.boolean(), report: reportView }))
		.mutation(({ ctx, input }) =>
			ctx.core.reports.service.runNow(input.kind, ctx.principal, { ip: ctx.ip, requestId: ctx.requestId })
		)
});
