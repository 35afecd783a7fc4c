/**
 * The shadow comparison page on the real server: an administrator puts the scorecard into shadow
 * (tRPC, with the session), a scoring service scores applicants through the REST API, and the page
 * linked from the model page shows the figures, on a phone as on a desktop, without widening the
 * page. The scorecard is taken out of shadow again at the end.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { E2E_SERVICE_ACCOUNT_FILE } from './first-admin';
import { signInAsAdmin } from './sessions';

const golden = readFileSync('models/lending-club/xgb-1.0.0/golden.jsonl', 'utf8').trim().split('\n');
const applicants = golden
	.slice(0, 60)
	.map((line) => (JSON.parse(line) as { raw: Record<string, unknown> }).raw);

async function registry(page: Page, procedure: 'shadow' | 'unshadow', baseURL: string) {
	return page.request.post(`/trpc/models.${procedure}`, {
		headers: { 'content-type': 'application/json', origin: baseURL },
		data: {
			model: 'lending-club',
			...(procedure === 'shadow' ? { version: 'scorecard-1.0.0' } : {}),
			reason: 'e2e shadow comparison'
		}
	});
}

test('the shadow comparison page shows how the version in shadow would have decided', async ({
	page,
	baseURL
}, testInfo) => {
	test.setTimeout(120_000);
	await signInAsAdmin(page);
	const shadowed = await registry(page, 'shadow', baseURL ?? '');
	expect(shadowed.status(), await shadowed.text()).toBe(200);
	try {
		const account = JSON.parse(readFileSync(E2E_SERVICE_ACCOUNT_FILE, 'utf8')) as {
			clientId: string;
			clientSecret: string;
		};
		const token = await page.request.post('/api/v1/oauth/token', {
			form: {
				grant_type: 'client_credentials',
				client_id: account.clientId,
				client_secret: account.clientSecret
			}
		});
		const { access_token } = (await token.json()) as { access_token: string };
		const scored = await page.request.post('/api/v1/models/lending-club/score/batch', {
			headers: { authorization: `Bearer ${access_token}` },
			data: { applicants }
		});
		expect(scored.status()).toBe(200);

		await page.goto('/models/lending-club');
		const card = page.getByRole('region', { name: 'Shadow' });
		await expect(card.getByRole('heading', { name: 'Take scorecard-1.0.0 out of shadow' })).toBeVisible();
		await card.screenshot({ path: testInfo.outputPath('card.png') });
		await page.getByTestId('shadow-link').click();
		await expect(page.getByRole('heading', { name: 'Shadow comparison' })).toBeVisible();
		// Shadow rows are written in the background: reload until they are there.
		await expect(async () => {
			await page.reload();
			await expect(page.getByTestId('shadow-summary')).toContainText('Decisions compared');
		}).toPass({ timeout: 30_000 });
		await expect(page.getByTestId('shadow-flips')).toBeVisible();
		await expect(page.getByTestId('shadow-swaps')).toContainText('Swap-ins');
		await expect(page.getByTestId('shadow-shap').locator('tbody tr')).toHaveCount(10);
		const widths = await page.evaluate(() => ({
			page: document.documentElement.scrollWidth,
			viewport: window.innerWidth
		}));
		expect(widths.page).toBeLessThanOrEqual(widths.viewport);
		await page.screenshot({ path: testInfo.outputPath('shadow.png'), fullPage: true });
		await page.getByTestId('shadow-summary').screenshot({ path: testInfo.outputPath('summary.png') });
		await page.getByTestId('shadow-flips').screenshot({ path: testInfo.outputPath('flips.png') });
	} finally {
		const out = await registry(page, 'unshadow', baseURL ?? '');
		expect(out.status(), await out.text()).toBe(200);
	}
});
