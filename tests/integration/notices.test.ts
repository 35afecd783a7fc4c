/**
 * Adverse-action notices on a real database: the PDF and the JSON view of a declined or referred
 * decision carry the reference, the date, the decision, the portal's reason sentences (at most
 * four) and the lender's details; the final decision counts (a reviewer's approve refuses the
 * notice, a reviewer's decline allows it); every download is a `data.export` audit entry; bad ids
 * and approved decisions get a clear 4xx; only those who may see the history get a notice.
 */
import { isActionFailure, type ActionFailure, type RequestEvent } from '@sveltejs/kit';
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, ruleFor } from '$lib/server/auth/access';
import type { FormProblem } from '$lib/server/forms';
import { auditLog } from '$lib/server/db/schema';
import { openApiDocument } from '$lib/server/http/openapi';
import { DEFAULT_STATEMENT_OF_RIGHTS } from '$lib/server/services/notices/notice-settings';
import { createCaller } from '$lib/server/trpc/root';
import * as settingsPage from '../../src/routes/admin/notices/+page.server';
import * as pdfEndpoint from '../../src/routes/history/[id]/notice.pdf/+server';
import { apiClient, serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import { readPdf } from '../helpers/pdf-text';

const golden = goldenRows('lending-club/xgb-1.0.0');
const VERSION = 'xgb-1.0.0';
/** Golden rows the model declines (probability ≥ 0.165) and approves (< 0.11). */
const declinedRows = golden.filter((row) => row.probability >= 0.2).map((row) => row.raw);
const approvedRow = golden.find((row) => row.probability < 0.05)?.raw ?? {};

const LENDER = {
	lenderName: 'Prairie Savings Bank',
	address: '100 Main Street\r\n  Springfield, IL 62701  \n',
	contact: 'Call 555-0100, Monday to Friday, 9–5',
	statementOfRights: DEFAULT_STATEMENT_OF_RIGHTS,
	paperSize: 'A4' as const
};

const saveAction = (settingsPage.actions as Record<'save', (event: RequestEvent) => Promise<unknown>>).save;

describe.each(testDatabaseKinds())('adverse-action notices on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	let call: ReturnType<typeof apiClient>;
	let manager: ReturnType<typeof createCaller>;
	const ids = { declined: '', declinedNoRef: '', approved: '', overturned: '', tightened: '', referred: '' };

	const score = async (applicant: Record<string, number | string | null>, applicationId?: string) =>
		(
			await manager.scoring.score({
				model: 'lending-club',
				version: VERSION,
				applicant,
				...(applicationId ? { applicationId } : {})
			})
		).predictionId;

	const exports = (predictionId: string) =>
		t.core.db
			.select()
			.from(auditLog)
			.where(and(eq(auditLog.action, 'data.export'), eq(auditLog.targetId, predictionId)));

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
		call = apiClient(t.core);
		manager = createCaller(t.context('risk_manager', 'rm-1'));
		ids.declined = await score(declinedRows[0] ?? {}, 'APP-2025/0042');
		ids.declinedNoRef = await score(declinedRows[1] ?? {});
		ids.approved = await score(approvedRow);
		ids.overturned = await score(declinedRows[2] ?? {});
		ids.tightened = await score(approvedRow);
		ids.referred = await score(approvedRow);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	it('should keep the built-in defaults until an administrator saves the lender details, with field errors', async () => {
		const admin = createCaller(t.context('admin', 'admin-1'));
		expect(await admin.notices.settings()).toMatchObject({ isDefault: true, paperSize: 'LETTER' });
		const error = await admin.notices
			.updateSettings({
				lenderName: ' ',
				address: 'a\nb\nc\nd\ne\nf\ng',
				contact: 'x'.repeat(201),
				statementOfRights: 'Too short.',
				paperSize: 'A3' as never
			})
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TRPCError);
		expect((error as TRPCError).code).toBe('BAD_REQUEST');

		const refused = (await saveAction(
			pageEvent({
				role: 'admin',
				url: '/admin/notices?/save',
				routeId: '/admin/notices',
				form: { lenderName: '', address: '', contact: '', statementOfRights: 'short', paperSize: 'A3' }
			})
		)) as ActionFailure<FormProblem>;
		expect(isActionFailure(refused)).toBe(true);
		expect(refused.status).toBe(400);
		expect(Object.keys(refused.data.fieldErrors).sort()).toEqual([
			'address',
			'lenderName',
			'paperSize',
			'statementOfRights'
		]);
		expect(refused.data.values).toMatchObject({ statementOfRights: 'short' });
		expect((await admin.notices.settings()).isDefault).toBe(true);

		const saved = await saveAction(
			pageEvent({ role: 'admin', url: '/admin/notices?/save', routeId: '/admin/notices', form: LENDER })
		);
		expect(saved).toEqual({ saved: true });
		expect(await admin.notices.settings()).toMatchObject({
			isDefault: false,
			lenderName: 'Prairie Savings Bank',
			address: '100 Main Street\nSpringfield, IL 62701',
			paperSize: 'A4'
		});
		const audit = await t.core.db
			.select()
			.from(auditLog)
			.where(and(eq(auditLog.action, 'settings.update'), eq(auditLog.targetId, 'adverse_action_notice')));
		expect(audit).toHaveLength(1);
		const { changed } = audit[0]?.details as { changed: string[] };
		expect(changed).toEqual(expect.arrayContaining(['lenderName', 'address']));
		const forbidden = await manager.notices.updateSettings(LENDER).catch((e: unknown) => e);
		expect((forbidden as TRPCError).code).toBe('FORBIDDEN');
	});

	it('should answer the PDF over REST with the reference, date, decision, reasons and lender, audited', async () => {
		const detail = await manager.history.get({ id: ids.declined });
		expect(detail.decision).toBe('decline');
		const token = await serviceToken(t.core, `notice-desk-${kind}`, 'risk_manager');
		const response = await call({ path: `/predictions/${ids.declined}/notice.pdf`, token });
		expect(response.status).toBe(200);
		expect(response.headers['content-type']).toBe('application/pdf');
		expect(response.headers['content-disposition']).toBe('attachment; filename="notice-APP-2025-0042.pdf"');
		const bytes = response.body as Uint8Array;
		expect(bytes).toBeInstanceOf(Uint8Array);
		expect(Buffer.from(bytes.subarray(0, 5)).toString('latin1')).toBe('%PDF-');

		const pdf = await readPdf(bytes);
		// The lender chose A4: 210 × 297 mm is 595 × 842 points.
		expect(pdf.pageSize).toEqual({ width: 595, height: 842 });
		expect(pdf.info).toMatchObject({
			Title: 'Adverse-action notice APP-2025/0042',
			Author: 'Prairie Savings Bank'
		});
		const { text } = pdf;
		expect(text).toContain('Prairie Savings Bank');
		expect(text).toContain('Springfield, IL 62701');
		expect(text).toContain('Call 555-0100, Monday to Friday, 9–5');
		expect(text).toContain('Applicant reference: APP-2025/0042');
		expect(text).toContain(
			`Date: ${new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' }).format(detail.createdAt)}`
		);
		expect(text).toContain('Decision: Declined');
		expect(text).toContain('automated credit-scoring model');
		expect(text).toContain('the applicant’s income derives from any public assistance program');
		expect(text).toContain(`model lending-club version ${VERSION}`);
		const principal = detail.reasons.slice(0, 4);
		expect(principal.length).toBeGreaterThan(0);
		let last = -1;
		for (const reason of principal) {
			const at = text.indexOf(`${reason.text}.`);
			expect(at, reason.text).toBeGreaterThan(last);
			last = at;
		}
		for (const reason of detail.reasons.slice(4)) expect(text).not.toContain(reason.text);

		const audit = await exports(ids.declined);
		expect(audit).toHaveLength(1);
		expect(audit[0]).toMatchObject({
			actorKind: 'service',
			targetType: 'prediction',
			details: {
				export: 'adverse_action_notice',
				format: 'pdf',
				channel: 'api',
				decision: 'decline',
				reviewed: false
			}
		});
	});

	it('should answer the same notice over tRPC, as JSON and as the PDF in base64, each audited', async () => {
		const detail = await manager.history.get({ id: ids.declinedNoRef });
		const notice = await manager.predictions.notice({ predictionId: ids.declinedNoRef });
		expect(notice).toMatchObject({
			predictionId: ids.declinedNoRef,
			reference: ids.declinedNoRef,
			date: detail.createdAt.toISOString(),
			decision: 'decline',
			decisionLabel: 'Declined',
			modelDecision: 'decline',
			reviewed: false,
			lender: { name: 'Prairie Savings Bank', addressLines: ['100 Main Street', 'Springfield, IL 62701'] },
			model: { id: 'lending-club', version: VERSION }
		});
		expect(notice.reasons).toEqual(detail.reasons.slice(0, 4).map(({ code, text }) => ({ code, text })));

		const file = await manager.predictions.noticePdf({ predictionId: ids.declinedNoRef });
		expect(file.contentType).toBe('application/pdf');
		expect(file.filename).toBe(`notice-${ids.declinedNoRef}.pdf`);
		const bytes = Buffer.from(file.base64, 'base64');
		expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
		expect((await readPdf(bytes)).text).toContain(`Applicant reference: ${ids.declinedNoRef}`);
		// The document's dates are the decision's: the same notice is the same file.
		const again = await manager.predictions.noticePdf({ predictionId: ids.declinedNoRef });
		expect(again.base64).toBe(file.base64);

		const audit = await exports(ids.declinedNoRef);
		expect(audit.map((entry) => (entry.details as { format: string }).format).sort()).toEqual([
			'json',
			'pdf',
			'pdf'
		]);
		expect(audit.every((entry) => (entry.details as { channel: string }).channel === 'trpc')).toBe(true);
	});

	it('should refuse a notice for an approved decision, an unknown prediction and a malformed id (4xx)', async () => {
		const token = await serviceToken(t.core, `notice-refusals-${kind}`, 'risk_manager');
		const approved = await call({ path: `/predictions/${ids.approved}/notice.pdf`, token });
		expect(approved.status).toBe(409);
		expect(approved.headers['content-type']).toMatch(/^application\/json/);
		expect((approved.json as { error: { message: string } }).error.message).toMatch(
			/approved: it has no adverse-action notice/
		);
		const asJson = await call({ path: `/predictions/${ids.approved}/notice`, token });
		expect(asJson.status).toBe(409);

		const unknown = await call({ path: `/predictions/${randomUUID()}/notice.pdf`, token });
		expect(unknown.status).toBe(404);
		const malformed = await call({ path: '/predictions/not-an-id/notice.pdf', token });
		expect(malformed.status).toBe(400);
		expect((malformed.json as { error: { fieldErrors: object } }).error.fieldErrors).toEqual({
			predictionId: ['Not a prediction id.']
		});
		const trpcRefusal = await manager.predictions
			.notice({ predictionId: ids.approved })
			.catch((e: unknown) => e);
		expect((trpcRefusal as TRPCError).code).toBe('CONFLICT');
		expect(await exports(ids.approved)).toHaveLength(0);
	});

	it('should follow the final decision: a reviewed decline turned approve has none, an approve turned decline or refer has one', async () => {
		const before = await manager.predictions.notice({ predictionId: ids.overturned });
		expect(before.reviewed).toBe(false);
		await manager.reviews.record({
			predictionId: ids.overturned,
			decision: 'approve',
			reason: 'Collateral offered and verified.'
		});
		const refused = await manager.predictions
			.notice({ predictionId: ids.overturned })
			.catch((e: unknown) => e);
		expect((refused as TRPCError).code).toBe('CONFLICT');
		expect((refused as TRPCError).message).toMatch(/reviewer approved/);

		const review = await manager.reviews.record({
			predictionId: ids.tightened,
			decision: 'decline',
			reason: 'Income could not be verified.'
		});
		const notice = await manager.predictions.notice({ predictionId: ids.tightened });
		expect(notice).toMatchObject({
			decision: 'decline',
			modelDecision: 'approve',
			reviewed: true,
			date: review.createdAt
		});
		expect(notice.summary).toMatch(/reviewed by a member of our staff/);
		const pdf = await manager.predictions.noticePdf({ predictionId: ids.tightened });
		const { text } = await readPdf(Buffer.from(pdf.base64, 'base64'));
		expect(text).toContain('Decision: Declined');
		expect(text).toContain('final decision by a reviewer');

		await manager.reviews.record({
			predictionId: ids.referred,
			decision: 'refer',
			reason: 'Second signature.'
		});
		const referred = await manager.predictions.notice({ predictionId: ids.referred });
		expect(referred).toMatchObject({ decision: 'refer', decisionLabel: 'Referred for further review' });
	});

	it('should give a notice only to those who may see the history, over tRPC, REST and the portal', async () => {
		for (const role of ['viewer', 'executive', 'scorer'] as const) {
			const caller = createCaller(t.context(role));
			for (const attempt of [
				caller.predictions.notice({ predictionId: ids.declined }),
				caller.predictions.noticePdf({ predictionId: ids.declined })
			]) {
				const error = await attempt.catch((e: unknown) => e);
				expect((error as TRPCError).code).toBe('FORBIDDEN');
			}
			for (const route of ['/history/[id]/notice.pdf', '/history/[id]/notice']) {
				const found = ruleFor(route);
				expect(found).not.toBeNull();
				if (found) expect(decide(found.rule, { role, stage: 'active' }).outcome).toBe('forbidden');
			}
		}
		const scorer = await serviceToken(t.core, `notice-scorer-${kind}`, 'scorer');
		const denied = await call({ path: `/predictions/${ids.declined}/notice.pdf`, token: scorer });
		expect(denied.status).toBe(403);
		const anonymous = await call({ path: `/predictions/${ids.declined}/notice.pdf` });
		expect(anonymous.status).toBe(401);
	});

	it('should download the PDF from the portal, audited with the portal channel', async () => {
		const event = pageEvent({
			role: 'risk_manager',
			url: `/history/${ids.declined}/notice.pdf`,
			params: { id: ids.declined },
			routeId: '/history/[id]/notice.pdf'
		});
		const response = await pdfEndpoint.GET(event as never);
		expect(response.status).toBe(200);
		expect(response.headers.get('content-disposition')).toBe(
			'attachment; filename="notice-APP-2025-0042.pdf"'
		);
		const bytes = new Uint8Array(await response.arrayBuffer());
		expect(Buffer.from(bytes.subarray(0, 5)).toString('latin1')).toBe('%PDF-');
		const entries = await exports(ids.declined);
		expect(entries.some((entry) => (entry.details as { channel: string }).channel === 'portal')).toBe(true);

		const conflict = await pdfEndpoint.GET(
			pageEvent({
				role: 'risk_manager',
				url: `/history/${ids.approved}/notice.pdf`,
				params: { id: ids.approved },
				routeId: '/history/[id]/notice.pdf'
			}) as never
		);
		expect(conflict.status).toBe(409);
	});

	it('should describe the PDF response in the OpenAPI document', () => {
		const document = openApiDocument(t.core.models);
		const operation = document.paths?.['/predictions/{predictionId}/notice.pdf']?.get;
		expect(operation?.responses?.['200']).toMatchObject({
			content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } }
		});
		const json = document.paths?.['/predictions/{predictionId}/notice']?.get?.responses?.['200'] as {
			content?: Record<string, unknown>;
		};
		expect(Object.keys(json.content ?? {})).toEqual(['application/json']);
	});
});
