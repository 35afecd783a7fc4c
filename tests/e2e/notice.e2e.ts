import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import Papa from 'papaparse';
import { readPdf } from '../helpers/pdf-text';
import { signInAsAdmin, storageStateFor } from './sessions';

/**
 * Adverse-action notices, at both widths: an administrator sets the lender's details (a bad value
 * first gets its field error), a risk manager scores a declined and an approved applicant, downloads
 * the declined one's notice as a PDF and reads it back, opens the printable notice, and finds no
 * notice on the approved one.
 */
test.describe.configure({ mode: 'serial', timeout: 180_000 });

const golden = readFileSync('models/lending-club/xgb-1.0.0/golden.jsonl', 'utf8')
	.trim()
	.split('\n')
	.map((line) => JSON.parse(line) as { probability: number; raw: Record<string, number | string | null> });
/** Well past the decline cut-off (0.165) and well under the approve one (0.11). */
const declined = golden.find((row) => row.probability >= 0.25)?.raw ?? {};
const approved = golden.find((row) => row.probability < 0.05)?.raw ?? {};

const LENDER = 'Prairie Savings Bank';

/** Scores applicants as a batch with their references and answers each decision's prediction id. */
async function scoreRows(
	page: Page,
	rows: { raw: Record<string, number | string | null>; reference: string }[]
) {
	const columns = [...Object.keys(rows[0]?.raw ?? {}), 'applicationId'];
	const data = rows.map(({ raw, reference }) => [
		...Object.values(raw).map((v) => (v === null ? '' : String(v))),
		reference
	]);
	await page.goto('/batch');
	// Until the page has hydrated, a choice can be reset: choose until the template link follows it.
	await expect(async () => {
		await page.getByLabel('Model', { exact: true }).selectOption('lending-club@xgb-1.0.0');
		await expect(page.getByRole('link', { name: /CSV template for lending-club xgb-1\.0\.0/ })).toBeVisible({
			timeout: 1_000
		});
	}).toPass({ timeout: 30_000 });
	await page.getByLabel('CSV file').setInputFiles({
		name: 'applicants.csv',
		mimeType: 'text/csv',
		buffer: Buffer.from(Papa.unparse({ fields: columns, data }))
	});
	await page.getByRole('button', { name: `Score ${rows.length} valid rows` }).click();
	const results = page.getByRole('region', { name: '3. Results' });
	await expect(results).toContainText(`${rows.length} rows scored`, { timeout: 60_000 });
	const [download] = await Promise.all([
		page.waitForEvent('download'),
		results.getByRole('link', { name: 'Download results CSV' }).click()
	]);
	const parsed = Papa.parse<Record<string, string>>(readFileSync(await download.path(), 'utf8').trim(), {
		header: true
	});
	return parsed.data.map((row) => ({ id: row.prediction_id ?? '', decision: row.decision ?? '' }));
}

test("an administrator sets the lender's details and a risk manager sends a declined applicant the notice", async ({
	browser
}, testInfo) => {
	const project = testInfo.project.name;
	const viewport = testInfo.project.use.viewport ?? null;
	const problems: string[] = [];
	const shot = (page: Page, name: string) =>
		page.screenshot({ path: `tests/e2e/screenshots/notice-${name}-${project}.png`, fullPage: true });

	await test.step("set the lender's details, a bad value first", async () => {
		const context = await browser.newContext({ viewport });
		const page = await context.newPage();
		page.on('pageerror', (error) => problems.push(error.message));
		await signInAsAdmin(page);
		await page.goto('/admin');
		await page.getByRole('link', { name: 'Adverse-action notices' }).click();
		await expect(page.getByRole('heading', { level: 1, name: 'Adverse-action notices' })).toBeVisible();

		await page.getByLabel('Lender name').fill(LENDER);
		await page.getByLabel('Postal address').fill('100 Main Street\nSpringfield, IL 62701');
		await page.getByLabel('Contact line (optional)').fill('Call 555-0100, Monday to Friday, 9–5');
		await page.getByLabel('Statement of rights').fill('Too short.');
		await page.getByRole('button', { name: 'Save' }).click();
		await expect(page.locator('#n-statementOfRights-error')).toContainText('at least 40 characters');
		await expect(page.getByLabel('Lender name')).toHaveValue(LENDER);

		await page
			.getByLabel('Statement of rights')
			.fill(
				'You have the right to a statement of the specific reasons for this decision. ' +
					'The federal Equal Credit Opportunity Act prohibits creditors from discriminating against applicants.'
			);
		await page.getByLabel('Paper size').selectOption('A4');
		await page.getByRole('button', { name: 'Save' }).click();
		await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
		await shot(page, 'settings');
		await context.close();
	});

	const storageState = await storageStateFor(browser, 'risk_manager');
	const context = await browser.newContext({ storageState, viewport });
	const page = await context.newPage();
	page.on('pageerror', (error) => problems.push(error.message));
	const reference = `E2E-NOTICE-${project}`;
	const [refused, accepted] = await scoreRows(page, [
		{ raw: declined, reference },
		{ raw: approved, reference: `${reference}-OK` }
	]);
	expect(refused?.decision).toBe('decline');
	expect(accepted?.decision).toBe('approve');

	await test.step("download the declined applicant's notice and read it", async () => {
		await page.goto(`/history/${refused?.id}`);
		const section = page.getByRole('region', { name: 'Adverse-action notice' });
		await expect(section).toContainText('Each download is recorded in the audit log.');
		await section.scrollIntoViewIfNeeded();
		await shot(page, 'report');
		// The report's reason sentences, strongest first: the notice gives the first four.
		const reasons = await page
			.getByRole('region', { name: 'Reason codes' })
			.locator('ol.reasons > li > strong')
			.allInnerTexts();
		expect(reasons.length).toBeGreaterThan(0);
		const [download] = await Promise.all([
			page.waitForEvent('download'),
			section.getByRole('link', { name: 'Download notice (PDF)' }).click()
		]);
		expect(download.suggestedFilename()).toBe(`notice-${reference}.pdf`);
		const pdf = await readPdf(readFileSync(await download.path()));
		expect(pdf.pageSize).toEqual({ width: 595, height: 842 });
		expect(pdf.text).toContain(LENDER);
		expect(pdf.text).toContain('Springfield, IL 62701');
		expect(pdf.text).toContain(`Applicant reference: ${reference}`);
		expect(pdf.text).toContain('Decision: Declined');
		expect(pdf.text).toContain('Equal Credit Opportunity Act');
		let last = -1;
		for (const reason of reasons.slice(0, 4)) {
			const at = pdf.text.indexOf(`${reason.trim()}.`);
			expect(at, reason).toBeGreaterThan(last);
			last = at;
		}
	});

	await test.step('open the printable notice', async () => {
		await page.goto(`/history/${refused?.id}`);
		await page
			.getByRole('region', { name: 'Adverse-action notice' })
			.getByRole('link', { name: 'Printable notice' })
			.click();
		const notice = page.getByTestId('notice-document');
		await expect(notice).toContainText(LENDER);
		await expect(notice).toContainText('Decision: Declined');
		await expect(notice).toContainText(reference);
		await expect(notice.getByRole('listitem').first()).toBeVisible();
		await expect(page.getByRole('button', { name: 'Print notice' })).toBeVisible();
		await shot(page, 'printable');
	});

	await test.step('find no notice on an approved decision', async () => {
		await page.goto(`/history/${accepted?.id}`);
		await expect(page.getByTestId('no-notice')).toContainText('has no adverse-action notice');
		const answer = await page.request.get(`/history/${accepted?.id}/notice.pdf`);
		expect(answer.status()).toBe(409);
	});

	expect(problems, 'no script error on any page').toEqual([]);
	await context.close();
});
