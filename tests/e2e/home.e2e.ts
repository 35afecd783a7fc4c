import { expect, test } from '@playwright/test';
import { storageStateFor } from './sessions';

test('the home page should say what Credible is and list its areas', async ({ page }, testInfo) => {
	await page.goto('/');
	await expect(page.getByRole('heading', { level: 1, name: 'Credible' })).toBeVisible();
	await expect(page.getByText('Open-source credit scoring')).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Score an applicant' })).toBeVisible();
	await page.screenshot({ path: `tests/e2e/screenshots/home-${testInfo.project.name}.png`, fullPage: true });
});

test('the readiness endpoint should report the database', async ({ request }) => {
	const response = await request.get('/readyz');
	expect(response.status()).toBe(200);
	const body = (await response.json()) as { status: string; checks: { name: string; ok: boolean }[] };
	expect(body.status).toBe('ready');
	expect(body.checks.map((check) => check.name)).toContain('database');
});

test('the status page reads the readiness checks in words', async ({ page }, testInfo) => {
	await page.goto('/');
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Status' }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'Status' })).toBeVisible();
	await expect(page.getByTestId('status')).toContainText('Ready');
	await expect(page.getByRole('row', { name: /Database answers/ })).toContainText('passes');
	await page.screenshot({
		path: `tests/e2e/screenshots/status-${testInfo.project.name}.png`,
		fullPage: true
	});
});

test('a signed-in risk manager’s home shows the decision figures, recent decisions and alerts', async ({
	browser
}, testInfo) => {
	const storageState = await storageStateFor(browser, 'risk_manager');
	const context = await browser.newContext({ storageState, viewport: testInfo.project.use.viewport ?? null });
	const page = await context.newPage();
	await page.goto('/');
	await expect(page.getByRole('heading', { level: 1, name: 'Welcome, Rita Risk' })).toBeVisible();
	await expect(page.getByRole('link', { name: 'Sign in to the portal' })).toHaveCount(0);
	const areas = page.getByRole('list', { name: 'Your areas' });
	await expect(areas.getByRole('link', { name: 'Score' })).toBeVisible();
	await expect(areas.getByRole('link', { name: 'Administration' })).toHaveCount(0);
	const tiles = page.getByRole('list', { name: 'Decision figures' });
	await expect(tiles.getByRole('listitem')).toHaveCount(5);
	await expect(tiles).toContainText('Approval rate');
	await expect(page.getByRole('heading', { name: 'Recent decisions' })).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Open alerts' })).toBeVisible();
	// Every link of the main navigation is a tap target of at least 44 × 44 px, at both widths.
	const navLinks = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
	for (const link of await navLinks.all()) {
		const [box, name] = await Promise.all([link.boundingBox(), link.textContent()]);
		expect(box?.height, name ?? '').toBeGreaterThanOrEqual(44);
		expect(box?.width, name ?? '').toBeGreaterThanOrEqual(44);
	}
	await page.screenshot({
		path: `tests/e2e/screenshots/home-risk-manager-${testInfo.project.name}.png`,
		fullPage: true
	});
	await context.close();
});
