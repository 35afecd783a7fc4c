import { expect, test } from '@playwright/test';

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
