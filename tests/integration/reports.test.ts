/**
 * Scheduled reports on a real database: golden applicants scored through the service on a given
 * day (half of them with halved incomes, some by the challenger), last year's cohort with real
 * outcomes; the report of that day must say what the drift and performance services say and
 * count exactly the seeded decisions. Two schedulers on one database (two connection pools on
 * PostgreSQL) fire on the same occurrences and build one report. The three files are read back
 * (the PDF with PDF.js), a local HTTP server plays the webhook, and bad requests are 4xx.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import Papa from 'papaparse';
import { and, eq } from 'drizzle-orm';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type DatabaseHandle } from '$lib/server/db';
import { openApiDocument } from '$lib/server/http/openapi';
import { auditLog, predictions, reports, type NewPrediction } from '$lib/server/db/schema';
import { computeDrift } from '$lib/server/services/drift.service';
import { modelPerformance } from '$lib/server/services/performance.service';
import { recordOutcomes } from '$lib/server/services/outcomes.service';
import { periodOf, type ReportContent } from '$lib/server/services/reports/content';
import { ReportService, type ReportWebhookPayload } from '$lib/server/services/reports/reports.service';
import { ReportScheduler } from '$lib/server/services/reports/scheduler';
import { createCaller } from '$lib/server/trpc/root';
import { GET as downloadReport } from '../../src/routes/monitoring/reports/[id].[format]/+server';
import * as reportsPage from '../../src/routes/monitoring/reports/+page.server';
import { apiClient, serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import { readPdf } from '../helpers/pdf-text';

const golden = goldenRows('lending-club/xgb-1.0.0');
const model = 'lending-club';
const champion = 'xgb-1.0.0';
const challenger = 'scorecard-1.0.0';
/** The reported day, and the occurrence that reports on it. */
const day = '2026-03-02';
const occurrence = new Date('2026-03-03T06:00:00Z');
/** Last year's cohort: the same day, PERFORMANCE_MATURITY_MONTHS (12) earlier. */
const cohortAt = '2025-03-02T10:30:00.000Z';

/** A webhook receiver that records every delivery. */
async function startReceiver(): Promise<{ server: Server; url: string; received: ReportWebhookPayload[] }> {
	const received: ReportWebhookPayload[] = [];
	const server = createServer((req, res) => {
		let body = '';
		req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
		req.on('end', () => {
			received.push(JSON.parse(body) as ReportWebhookPayload);
			res.writeHead(204).end();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return { server, url: `http://127.0.0.1:${port}/hooks/reports?token=not-for-logs`, received };
}

describe.each(testDatabaseKinds())('reports on %s', (kind) => {
	let t: TestCore;
	let receiver: Awaited<ReturnType<typeof startReceiver>>;
	let restore: () => void;
	let cohortDefaults = 0;

	async function scoreAt(at: string, applicants: Record<string, unknown>[], version?: string) {
		vi.useFakeTimers({ toFake: ['Date'], now: new Date(at).getTime() });
		try {
			const batch = await createCaller(t.context('scorer')).scoring.scoreBatch({
				model,
				version,
				applicants
			});
			expect(batch.summary.scored).toBe(applicants.length);
			return batch;
		} finally {
			vi.useRealTimers();
		}
	}

	beforeAll(async () => {
		receiver = await startReceiver();
		t = await startTestCore(kind, {
			REPORT_WEBHOOK_URL: receiver.url,
			ORIGIN: 'https://credible.example',
			REPORT_DAILY_CRON: '',
			REPORT_WEEKLY_CRON: 'off'
		});
		restore = useAsProcessCore(t.core);
		const first = await scoreAt(
			`${day}T10:05:00Z`,
			golden.map((g) => g.raw)
		);
		await scoreAt(
			`${day}T11:05:00Z`,
			golden.map((g) => ({ ...g.raw, annual_inc: (g.raw.annual_inc as number) * 0.5 }))
		);
		await scoreAt(
			`${day}T12:05:00Z`,
			golden.slice(0, 40).map((g) => g.raw),
			challenger
		);
		// Outside the day, on both sides: not counted.
		await scoreAt(
			'2026-03-01T23:59:00Z',
			golden.slice(0, 5).map((g) => g.raw)
		);
		await scoreAt(
			'2026-03-03T00:00:00Z',
			golden.slice(0, 5).map((g) => g.raw)
		);
		// Last year's cohort: the first batch's decisions again, with outcomes (the riskiest fifth
		// and every seventh other loan defaulted).
		const stored = await t.core.db.select().from(predictions).where(eq(predictions.batchId, first.batchId));
		const cohort: NewPrediction[] = stored.map((row, i) => ({
			...row,
			id: randomUUID(),
			createdAt: new Date(cohortAt),
			batchId: null,
			requestId: `cohort-${i}`,
			idempotencyKey: null
		}));
		await t.core.db.insert(predictions).values(cohort);
		const sorted = [...cohort].sort((a, b) => b.probability - a.probability);
		const bad = new Set(sorted.filter((_, i) => i < sorted.length / 5 || i % 7 === 0).map((row) => row.id));
		cohortDefaults = bad.size;
		const recorded = await recordOutcomes(
			t.core.db,
			{ kind: 'user', id: 'risk', name: 'Risk', role: 'risk_manager' },
			{
				outcomes: cohort.map((row) => ({
					predictionId: row.id,
					defaulted: bad.has(row.id),
					observedAt: '2026-02-01'
				})),
				source: 'api'
			},
			{ ip: null, requestId: 'report-outcomes' }
		);
		expect(recorded.counts.recorded).toBe(cohort.length);
	}, 180_000);

	afterAll(async () => {
		restore?.();
		await t?.dispose();
		await new Promise((resolve) => receiver?.server.close(resolve));
	});

	let reportId = '';
	let content: ReportContent;

	it('should report the day before the occurrence with the seeded volumes, drift and performance', async () => {
		const outcome = await t.core.reports.service.run('daily', occurrence);
		expect(outcome.created).toBe(true);
		expect(outcome.report).toMatchObject({
			kind: 'daily',
			status: 'completed',
			trigger: 'schedule',
			periodStart: `${day}T00:00:00.000Z`,
			periodEnd: '2026-03-03T00:00:00.000Z',
			instance: t.core.reports.service.instance,
			error: null
		});
		reportId = outcome.report.id;
		content = outcome.report.content as ReportContent;
		expect(content.models.map((m) => m.model)).toEqual(['consumer-credit', 'lending-club']);

		const lending = content.models.find((m) => m.model === model)!;
		expect(lending.champion).toBe(champion);
		expect(lending.versions.map((v) => [v.version, v.champion])).toEqual([
			[champion, true],
			[challenger, false]
		]);
		const [xgb, scorecard] = lending.versions;
		// Volume: exactly the seeded decisions of the day, by decision.
		const decided = await t.core.db.select().from(predictions).where(eq(predictions.modelVersion, champion));
		const ofDay = decided.filter((p) => p.createdAt.toISOString().startsWith(day));
		expect(ofDay).toHaveLength(2 * golden.length);
		expect(xgb!.volume).toEqual({
			predictions: 2 * golden.length,
			approve: ofDay.filter((p) => p.decision === 'approve').length,
			review: ofDay.filter((p) => p.decision === 'review').length,
			decline: ofDay.filter((p) => p.decision === 'decline').length
		});
		expect(scorecard!.volume.predictions).toBe(40);

		// Drift: what the drift service says of the same day, the halved income flagged.
		const drift = await computeDrift(
			{ db: t.core.db, models: t.core.models, bands: { watch: 0.1, act: 0.25 } },
			{ model, version: champion, from: `${day}T00:00:00Z`, to: '2026-03-03T00:00:00Z' }
		);
		expect(xgb!.drift!.score).toEqual({ psi: drift.score.psi, severity: drift.score.severity });
		expect(xgb!.drift!.features).toEqual(
			drift.features.map((f) => ({
				feature: f.feature,
				kind: f.kind,
				psi: f.psi,
				severity: f.severity,
				missingRateChange: f.missingRate.change
			}))
		);
		const income = xgb!.drift!.features.find((f) => f.feature === 'annual_inc')!;
		const term = xgb!.drift!.features.find((f) => f.feature === 'term')!;
		expect(income.psi).toBeGreaterThan(0.1);
		expect(income.severity).not.toBe('stable');
		expect(income.psi).toBeGreaterThan(10 * term.psi);

		// Estimated on the day's decisions, realised on last year's cohort.
		const performance = await modelPerformance(
			t.core.db,
			t.core.models,
			{ model, version: champion, from: day, to: day, by: 'window', window: 'day' },
			{ maturityMonths: 12 }
		);
		const overall = performance.versions[0]!.overall;
		expect(xgb!.estimated).toEqual({
			auc: overall.estimated.auc,
			defaultRate: overall.estimated.defaultRate,
			badRateApproved: overall.estimated.badRateApproved,
			approvalRate: overall.approvalRate
		});
		expect(xgb!.realised).toMatchObject({
			cohort: { from: '2025-03-02T00:00:00.000Z', to: '2025-03-03T00:00:00.000Z' },
			n: golden.length,
			defaults: cohortDefaults
		});
		const realised = (
			await modelPerformance(
				t.core.db,
				t.core.models,
				{ model, version: champion, from: '2025-03-02', to: '2025-03-02', by: 'window', window: 'day' },
				{ maturityMonths: 12 }
			)
		).versions[0]!.overall.realised!;
		expect(xgb!.realised!.auc).toBe(realised.auc!.value);
		expect(xgb!.realised!.auc).toBeGreaterThan(0.6);
		expect(xgb!.realised!.brier).toBe(realised.brier);
		// The challenger has no cohort last year; the other model no traffic at all.
		expect(scorecard!.realised).toBeNull();
		const consumer = content.models.find((m) => m.model === 'consumer-credit')!;
		expect(consumer.versions).toHaveLength(1);
		expect(consumer.versions[0]!.volume.predictions).toBe(0);
		expect(consumer.versions[0]!.drift!.score.severity).toBeNull();

		// Stored as it was answered.
		const [row] = await t.core.db.select().from(reports).where(eq(reports.id, reportId));
		expect(row!.content).toEqual(content);
		expect(row!.completedAt).not.toBeNull();
	});

	it('should notify the webhook once with the report and its links, and record the delivery', async () => {
		await t.core.reports.service.settled();
		const mine = receiver.received.filter((p) => p.report.id === reportId);
		expect(mine).toHaveLength(1);
		expect(mine[0]).toMatchObject({
			event: 'report.completed',
			instance: t.core.reports.service.instance,
			report: { id: reportId, kind: 'daily', periodStart: `${day}T00:00:00.000Z` },
			links: {
				pdf: `https://credible.example/monitoring/reports/${reportId}.pdf`,
				api: `https://credible.example/api/v1/reports/${reportId}`
			}
		});
		expect(mine[0]!.report.summary!.predictions).toBe(2 * golden.length + 40);
		const [row] = await t.core.db.select().from(reports).where(eq(reports.id, reportId));
		expect(row!.notifiedAt).not.toBeNull();
	});

	it('should complete a report whose webhook fails, and leave it not notified', async () => {
		const closed = createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const { port } = closed.address() as AddressInfo;
		await new Promise((resolve) => closed.close(resolve));
		const service = new ReportService({
			db: t.core.db,
			models: t.core.models,
			config: {
				...t.core.env,
				REPORT_WEBHOOK_URL: `http://127.0.0.1:${port}/gone`,
				REPORT_WEBHOOK_TIMEOUT_MS: 1000
			},
			instance: 'no-webhook'
		});
		const outcome = await service.run('weekly', new Date('2026-03-09T06:00:00Z'));
		await service.settled();
		expect(outcome.report.status).toBe('completed');
		const [row] = await t.core.db.select().from(reports).where(eq(reports.id, outcome.report.id));
		expect(row!.notifiedAt).toBeNull();
		// The week of 2026-03-02 (Monday) to 03-08 holds the day's decisions and the 03-03 ones.
		expect(outcome.report.periodStart).toBe(`${day}T00:00:00.000Z`);
		expect(outcome.report.summary!.predictions).toBe(2 * golden.length + 40 + 5);
	});

	it('should write the report as small self-contained HTML, a PDF and a CSV', async () => {
		const service = t.core.reports.service;
		const html = await service.file(reportId, 'html');
		expect(html.contentType).toBe('text/html; charset=utf-8');
		expect(html.filename).toBe(`credible-daily-report-${day}.html`);
		const page = new TextDecoder().decode(html.bytes);
		expect(page).toMatch(/^<!doctype html>/);
		expect(page).toContain('<style>');
		expect(page).not.toMatch(/<(script|link|img|iframe|object)\b|\bsrc=|url\(|@import|https?:\/\//i);
		expect(html.bytes.length).toBeLessThan(40_000);
		expect(page).toContain('Daily drift and performance report: 2026-03-02 (UTC)');
		expect(page).toContain('annual_inc');

		const pdf = await readPdf((await service.file(reportId, 'pdf')).bytes);
		expect(pdf.info.Title).toBe('Daily drift and performance report: 2026-03-02 (UTC)');
		expect(pdf.text).toContain(`${champion} (champion)`);
		expect(pdf.text).toContain(challenger);
		expect(pdf.text).toContain('annual_inc');
		const xgb = content.models.find((m) => m.model === model)!.versions[0]!;
		const income = xgb.drift!.features.find((f) => f.feature === 'annual_inc')!;
		expect(pdf.text).toContain(income.psi.toFixed(3));
		expect(pdf.text).toContain(`Decisions: ${2 * golden.length}`);

		const csv = await service.file(reportId, 'csv');
		expect(csv.contentType).toBe('text/csv; charset=utf-8');
		const parsed = Papa.parse<Record<string, string>>(new TextDecoder().decode(csv.bytes), {
			header: true,
			skipEmptyLines: true
		});
		expect(parsed.errors).toEqual([]);
		const cell = (section: string, item: string, figure: string, version = champion) =>
			parsed.data.find(
				(r) =>
					r.model === model &&
					r.version === version &&
					r.section === section &&
					r.item === item &&
					r.figure === figure
			);
		expect(cell('drift', 'annual_inc', 'psi')).toMatchObject({
			report: reportId,
			kind: 'daily',
			model,
			champion: 'yes',
			value: String(income.psi),
			severity: income.severity
		});
		expect(cell('volume', '', 'predictions')!.value).toBe(String(2 * golden.length));
		// No decision of the other model: no PSI to state, the cell is empty.
		const empty = parsed.data.find((r) => r.model === 'consumer-credit' && r.item === '$score');
		expect(empty).toMatchObject({ figure: 'psi', value: '', severity: '' });
		expect(cell('volume', '', 'predictions', challenger)!.value).toBe('40');
		expect(cell('realised', '2025-03-02/2025-03-03', 'defaults')!.value).toBe(String(cohortDefaults));
	});

	it('should serve the reports over REST to risk managers, with 4xx for bad requests', async () => {
		const api = apiClient(t.core);
		const token = await serviceToken(t.core, 'report-reader', 'risk_manager');
		const list = await api({ path: '/reports?kind=daily', token });
		expect(list.status).toBe(200);
		const body = list.json as { reports: { id: string; content?: unknown }[]; schedule: unknown };
		expect(body.reports.map((r) => r.id)).toContain(reportId);
		expect(body.reports[0]).not.toHaveProperty('content');
		expect(body.schedule).toEqual({ timezone: 'UTC', daily: null, weekly: null });

		const one = await api({ path: `/reports/${reportId}`, token });
		expect(one.status).toBe(200);
		expect((one.json as { content: unknown }).content).toEqual(content);

		const pdf = await api({ path: `/reports/${reportId}/pdf`, token });
		expect(pdf.status).toBe(200);
		expect(pdf.headers['content-type']).toBe('application/pdf');
		expect(pdf.headers['content-disposition']).toBe(
			`attachment; filename="credible-daily-report-${day}.pdf"`
		);
		expect((await readPdf(pdf.body as Uint8Array)).text).toContain('annual_inc');
		const csv = await api({ path: `/reports/${reportId}/csv`, token });
		expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');

		const fieldErrors = (answer: { json: unknown }) =>
			(answer.json as { error: { fieldErrors?: Record<string, string[]> } }).error.fieldErrors ?? {};
		const notUuid = await api({ path: '/reports/not-a-report', token });
		expect(notUuid.status).toBe(400);
		expect(fieldErrors(notUuid)).toHaveProperty('id');
		expect((await api({ path: `/reports/${randomUUID()}`, token })).status).toBe(404);
		expect((await api({ path: `/reports/${randomUUID()}/html`, token })).status).toBe(404);
		expect((await api({ path: `/reports/${reportId}/docx`, token })).status).toBe(404);
		const badKind = await api({ path: '/reports?kind=monthly&limit=0', token });
		expect(badKind.status).toBe(400);
		expect(Object.keys(fieldErrors(badKind)).sort()).toEqual(['kind', 'limit']);

		const scorer = await serviceToken(t.core, 'report-scorer', 'scorer');
		expect((await api({ path: '/reports', token: scorer })).status).toBe(403);
		expect((await api({ path: '/reports' })).status).toBe(401);
		// Only administrators run a report now.
		expect((await api({ method: 'POST', path: '/reports', token, body: { kind: 'daily' } })).status).toBe(
			403
		);
	});

	it('should document the report routes, each download with its own content type', () => {
		const document = openApiDocument(t.core.models);
		expect(Object.keys(document.paths ?? {})).toEqual(
			expect.arrayContaining([
				'/reports',
				'/reports/{id}',
				'/reports/{id}/html',
				'/reports/{id}/pdf',
				'/reports/{id}/csv'
			])
		);
		for (const [format, type] of [
			['html', 'text/html'],
			['pdf', 'application/pdf'],
			['csv', 'text/csv']
		] as const)
			expect(document.paths?.[`/reports/{id}/${format}`]?.get?.responses?.['200']).toMatchObject({
				content: { [type]: { schema: { type: 'string', format: 'binary' } } }
			});
		expect(document.paths?.['/reports']?.post?.security).toEqual([{ bearer: [] }]);
	});

	it('should serve the portal downloads, 400 for another format, 404 for an unknown report', async () => {
		const get = (id: string, format: string) =>
			downloadReport(
				pageEvent({
					role: 'risk_manager',
					url: `/monitoring/reports/${id}.${format}`,
					params: { id, format },
					routeId: '/monitoring/reports/[id].[format]'
				}) as never
			);
		const html = await get(reportId, 'html');
		expect(html.status).toBe(200);
		expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
		expect(html.headers.get('content-disposition')).toBe(
			`attachment; filename="credible-daily-report-${day}.html"`
		);
		expect(await html.text()).toContain('annual_inc');
		expect((await get(reportId, 'csv')).headers.get('content-type')).toBe('text/csv; charset=utf-8');
		const docx = await get(reportId, 'docx');
		expect(docx.status).toBe(400);
		expect(((await docx.json()) as { error: { fieldErrors: object } }).error.fieldErrors).toHaveProperty(
			'format'
		);
		expect((await get(randomUUID(), 'pdf')).status).toBe(404);
		expect((await get('nope', 'pdf')).status).toBe(400);

		const data = (await reportsPage.load(
			pageEvent({ role: 'risk_manager', url: '/monitoring/reports', routeId: '/monitoring/reports' }) as never
		)) as { reports: { id: string }[]; canRun: boolean };
		expect(data.reports.map((r) => r.id)).toContain(reportId);
		expect(data.canRun).toBe(false);
		// The run-now form: a kind it does not know is a 400 naming the field, not a 500.
		const action = reportsPage.actions.run as (event: unknown) => Promise<unknown>;
		const bad = (await action(
			pageEvent({
				role: 'admin',
				url: '/monitoring/reports',
				routeId: '/monitoring/reports',
				form: { kind: 'hourly' }
			})
		)) as { status: number; data: { fieldErrors: Record<string, string[]> } };
		expect(bad.status).toBe(400);
		expect(bad.data.fieldErrors).toHaveProperty('kind');
		const denied = (await action(
			pageEvent({
				role: 'risk_manager',
				url: '/monitoring/reports',
				routeId: '/monitoring/reports',
				form: { kind: 'weekly' }
			})
		)) as { status: number };
		expect(denied.status).toBe(403);
	});

	it('should let an administrator run the last whole day now, once, audited', async () => {
		const admin = createCaller(t.context('admin', 'admin-1'));
		const ran = await admin.reports.run({ kind: 'daily' });
		expect(ran.created).toBe(true);
		expect(ran.report).toMatchObject({ status: 'completed', trigger: 'manual', requestedBy: 'admin-1' });
		expect(ran.report.periodStart).toBe(periodOf('daily', new Date()).from.toISOString());
		const again = await admin.reports.run({ kind: 'daily' });
		expect(again).toMatchObject({ created: false, report: { id: ran.report.id } });
		const audited = await t.core.db
			.select()
			.from(auditLog)
			.where(and(eq(auditLog.action, 'report.run'), eq(auditLog.targetId, ran.report.id)));
		expect(audited.map((a) => a.details.created)).toEqual([true, false]);

		await expect(
			createCaller(t.context('risk_manager')).reports.run({ kind: 'daily' })
		).rejects.toMatchObject({
			code: 'FORBIDDEN'
		});
		await expect(admin.reports.run({ kind: 'monthly' as 'daily' })).rejects.toBeInstanceOf(TRPCError);
		// A failed report is retried by a manual run, not by the schedule.
		await t.core.db
			.update(reports)
			.set({ status: 'failed', error: 'database went away' })
			.where(eq(reports.id, ran.report.id));
		const scheduled = await t.core.reports.service.run('daily', new Date());
		expect(scheduled).toMatchObject({ created: false, report: { status: 'failed' } });
		const retried = await admin.reports.run({ kind: 'daily' });
		expect(retried).toMatchObject({
			created: true,
			report: { id: ran.report.id, status: 'completed', error: null }
		});
	});

	it('should build one report per occurrence when two schedulers share the database', async () => {
		// A second connection pool on PostgreSQL, as a second instance would have; PGlite is one process.
		let second: DatabaseHandle | undefined;
		if (kind === 'postgres')
			second = await openDatabase({
				url: t.database.url,
				migrationsDir: 'drizzle',
				migrate: false,
				poolSize: 2
			});
		try {
			const services = [t.core.db, second?.db ?? t.core.db].map(
				(db, i) =>
					new ReportService({ db, models: t.core.models, config: t.core.env, instance: `instance-${i}` })
			);
			// The same occurrence asked of both at once: one builds, one finds it claimed.
			const at = new Date('2026-02-02T06:00:00Z');
			const both = await Promise.all(services.map((s) => s.run('daily', at)));
			expect(both.map((o) => o.created).sort()).toEqual([false, true]);
			expect(new Set(both.map((o) => o.report.id)).size).toBe(1);

			// Real croner jobs firing every second on both: one report for the period, whatever the race.
			const schedulers = services.map(
				(service) =>
					new ReportScheduler(service, { daily: null, weekly: '* * * * * *', timezone: 'Europe/Paris' })
			);
			// The schedule is read in its time zone (New York is UTC−5 in January, UTC−4 in July).
			const eastern = new ReportScheduler(services[0]!, {
				daily: '0 6 * * *',
				weekly: null,
				timezone: 'America/New_York'
			});
			eastern.start();
			expect(eastern.next().daily).toMatch(/T1[01]:00:00\.000Z$/);
			expect(eastern.next().weekly).toBeNull();
			await eastern.stop();
			expect(eastern.next().daily).toBeNull();

			for (const scheduler of schedulers) scheduler.start();
			const deadline = Date.now() + 15_000;
			while (schedulers.some((s) => s.counts.fired < 2) && Date.now() < deadline)
				await new Promise((resolve) => setTimeout(resolve, 100));
			await Promise.all(schedulers.map((s) => s.stop()));
			for (const scheduler of schedulers) expect(scheduler.counts.fired).toBeGreaterThanOrEqual(2);
			expect(schedulers.reduce((sum, s) => sum + s.counts.built, 0)).toBe(1);
			const week = periodOf('weekly', new Date());
			const rows = await t.core.db
				.select()
				.from(reports)
				.where(and(eq(reports.kind, 'weekly'), eq(reports.periodStart, week.from)));
			expect(rows).toHaveLength(1);
			expect(rows[0]!.status).toBe('completed');
			expect(['instance-0', 'instance-1']).toContain(rows[0]!.instance);

			// A run abandoned for over 30 minutes (its instance stopped) is taken over by the next claim;
			// one still fresh is not.
			const abandoned = new Date('2026-01-05T06:00:00Z');
			const stale = periodOf('daily', abandoned);
			await t.core.db.insert(reports).values({
				kind: 'daily',
				periodStart: stale.from,
				periodEnd: stale.to,
				instance: 'gone',
				startedAt: new Date(Date.now() - 31 * 60_000)
			});
			const fresh = periodOf('daily', new Date('2026-01-06T06:00:00Z'));
			await t.core.db
				.insert(reports)
				.values({ kind: 'daily', periodStart: fresh.from, periodEnd: fresh.to, instance: 'busy' });
			const takeover = await services[1]!.run('daily', abandoned);
			expect(takeover).toMatchObject({
				created: true,
				report: { status: 'completed', instance: 'instance-1' }
			});
			const busy = await services[1]!.run('daily', new Date('2026-01-06T06:00:00Z'));
			expect(busy).toMatchObject({ created: false, report: { status: 'running', instance: 'busy' } });
		} finally {
			await second?.close();
		}
	}, 30_000);
});
