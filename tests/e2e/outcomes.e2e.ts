import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import Papa from 'papaparse';
import { storageStateFor } from './sessions';

/**
 * A risk manager records outcomes from a CSV, at both widths: score one applicant (a one-row batch
 * with an application reference), upload an outcome file with one good and one bad row, see the
 * bad row's problem before anything is recorded, record, read the summary and the rejected-rows
 * file, then open the decision's report and find its outcome.
 */
test.describe.configure({ mode: 'serial', timeout: 180_000 });

const golden = readFileSync('models/lending-club/xgb-1.0.0/golden.jsonl', 'utf8')
	.trim()
	.split('\n')
	.map((line) => (JSON.parse(line) as { raw: Record<string, number | string | null> }).raw);

/** Uploads a one-row batch with an application reference and answers the decision's prediction id. */
async function scoreOne(page: Page, reference: string): Promise<string> {
	const raw = golden[0] ?? {};
	const columns = [...Object.keys(raw), 'applicationId'];
	const row = [...Object.values(raw).map((v) => (v === null ? '' : String(v))), reference];
	await page.goto('/batch');
	await page.getByLabel('Model', { exact: true }).selectOption('lending-club@xgb-1.0.0');
	await page.getByLabel('CSV file').setInputFiles({
		name: 'one.csv',
		mimeType: 'text/csv',
		buffer: Buffer.from(Papa.unparse({ fields: columns, data: [row] }))
	});
	await page.getByRole('button', { name: 'Score 1 valid rows' }).click();
	const results = page.getByRole('region', { name: '3. Results' });
	await expect(results).toContainText('1 rows scored', { timeout: 60_000 });
	const [download] = await Promise.all([
		page.waitForEvent('download'),
		results.getByRole('link', { name: 'Download results CSV' }).click()
	]);
	const [scored] = Papa.parse<Record<string, string>>(readFileSync(await download.path(), 'utf8').trim(), {
		header: true
	}).data;
	expect(scored?.prediction_id).toMatch(/^[0-9a-f-]{36}$/);
	return scored?.prediction_id ?? '';
}

test('a risk manager uploads outcomes, sees the bad row, and finds the outcome on the report', async ({
	browser
}, testInfo) => {
	const project = testInfo.project.name;
	const storageState = await storageStateFor(browser, 'risk_manager');
	const context = await browser.newContext({ storageState, viewport: testInfo.project.use.viewport ?? null });
	const page = await context.newPage();
	const problems: string[] = [];
	page.on('pageerror', (error) => problems.push(error.message));
	const reviewShot = (name: string) =>
		page.screenshot({ path: `tests/e2e/screenshots/outcomes-${name}-${project}.png`, fullPage: true });

	const reference = `E2E-OUTCOME-${project}`;
	const predictionId = await scoreOne(page, reference);
	const today = new Date().toISOString().slice(0, 10);

	await test.step('upload one good and one bad row and see the bad one before recording', async () => {
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Outcomes' }).click();
		await expect(page.getByRole('heading', { level: 1, name: 'Outcomes' })).toBeVisible();
		const [template] = await Promise.all([
			page.waitForEvent('download'),
			page.getByRole('link', { name: 'Download the CSV template' }).click()
		]);
		expect(readFileSync(await template.path(), 'utf8').split('\r\n')[0]).toBe(
			'prediction_id,application_id,defaulted,observed_at,loss_amount,note'
		);

		const file = [
			'Loan reference,defaulted,observed_at,loss_amount',
			`${reference},yes,${today},1250.50`,
			`${reference},maybe,${today},`
		].join('\n');
		await page
			.getByLabel('CSV file')
			.setInputFiles({ name: 'outcomes.csv', mimeType: 'text/csv', buffer: Buffer.from(file) });
		// "Loan reference" is no name the page knows: it asks, and says what is missing.
		await expect(page.getByTestId('mapping-error')).toContainText('prediction_id or application_id');
		await expect(page.getByRole('button', { name: 'Check 2 rows' })).toBeDisabled();
		await page.getByLabel('Read Loan reference as').selectOption({ label: 'application_id' });
		await expect(page.getByTestId('mapping-error')).toHaveCount(0);
		await page.getByRole('button', { name: 'Check 2 rows' }).click();

		const check = page.getByTestId('outcome-check');
		await expect(check).toContainText('1 new', { timeout: 30_000 });
		await expect(check).toContainText('1 rejected');
		const rejected = page.getByTestId('outcome-rejected').getByRole('table');
		await expect(rejected.getByRole('row')).toHaveCount(2);
		await expect(rejected).toContainText('defaulted: Give true or false.');
		await page.getByRole('heading', { name: '3. Check' }).scrollIntoViewIfNeeded();
		await reviewShot('checked');
	});

	await test.step('record the good row and download the rejected one with its reason', async () => {
		await page.getByRole('button', { name: 'Record 1 rows' }).click();
		const summary = page.getByTestId('outcome-summary');
		await expect(summary).toBeVisible({ timeout: 30_000 });
		await expect(summary.getByRole('listitem').filter({ hasText: 'Recorded' })).toContainText('1');
		await expect(summary.getByRole('listitem').filter({ hasText: 'Rejected' })).toContainText('1');
		await summary.scrollIntoViewIfNeeded();
		await reviewShot('done');

		const [download] = await Promise.all([
			page.waitForEvent('download'),
			summary.getByRole('link', { name: 'Download rejected rows' }).click()
		]);
		expect(download.suggestedFilename()).toBe('outcomes-rejected.csv');
		const parsed = Papa.parse<Record<string, string>>(readFileSync(await download.path(), 'utf8').trim(), {
			header: true
		});
		expect(parsed.data).toEqual([
			expect.objectContaining({
				'Loan reference': reference,
				defaulted: 'maybe',
				status: 'rejected',
				errors: 'defaulted: Give true or false.'
			})
		]);
	});

	await test.step("open the decision's report and see its outcome", async () => {
		await page.goto(`/history/${predictionId}`);
		const outcome = page.getByRole('region', { name: 'Loan outcome' });
		await expect(outcome).toContainText(`Defaulted, observed on ${today}; loss 1,250.50.`);
		await expect(outcome).toContainText('CSV upload');
		await outcome.scrollIntoViewIfNeeded();
		await reviewShot('report');
	});

	expect(problems, 'no script error on any page').toEqual([]);
	await context.close();
});
