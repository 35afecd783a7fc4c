import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { signInAsAdmin } from './sessions';

/**
 * The reports page on the real server, at 1440 px and 390 px: an administrator opens it from
 * /monitoring, runs the daily report now, finds it completed in the list and downloads its PDF,
 * HTML and CSV; at 390 px nothing makes the page scroll sideways.
 */
test.describe.configure({ mode: 'serial' });

const SVELTEKIT_ANNOUNCER_STYLE_HASH = 'sha256-S8qMpvofolR8Mpjy4kQvEm7m1q8clzU4dfDH0AmvZjo=';

test('an administrator runs a report now and downloads it', async ({ page }, testInfo) => {
	const problems: string[] = [];
	page.on('console', (message) => {
		if (message.type() === 'error') problems.push(message.text());
	});
	page.on('pageerror', (error) => problems.push(error.message));
	await signInAsAdmin(page);
	await page.goto('/monitoring');
	await page.getByRole('link', { name: 'Reports', exact: true }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'Reports' })).toBeVisible();
	await expect(page.getByRole('region', { name: 'Schedule' })).toContainText('0 6 * * *');

	await page.getByLabel('Run now').selectOption('daily');
	await page.getByRole('button', { name: 'Run now' }).click();
	// The first project builds it; the second finds it built.
	await expect(page.locator('p.notice.success')).toContainText(
		/Report built \(completed\)|exists already \(completed\)/
	);
	const row = page.getByTestId('reports').locator('tbody tr').first();
	await expect(row).toContainText('completed');
	await expect(row).toContainText('daily');

	const saved = async (name: string) => {
		const [download] = await Promise.all([
			page.waitForEvent('download'),
			row.getByRole('link', { name, exact: true }).click()
		]);
		expect(download.suggestedFilename()).toMatch(
			new RegExp(`^credible-daily-report-\\d{4}-\\d{2}-\\d{2}\\.${name.toLowerCase()}$`)
		);
		return readFile(await download.path());
	};
	expect((await saved('PDF')).subarray(0, 5).toString()).toBe('%PDF-');
	expect((await saved('HTML')).toString()).toContain('Daily drift and performance report');
	expect((await saved('CSV')).toString()).toMatch(/^report,kind,period_start,period_end,model,version/);

	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	expect(overflow).toBeLessThanOrEqual(0);
	await page.screenshot({
		path: `tests/e2e/screenshots/reports-${testInfo.project.name}.png`,
		fullPage: true
	});
	expect(problems.filter((text) => !text.includes(SVELTEKIT_ANNOUNCER_STYLE_HASH))).toEqual([]);
});
