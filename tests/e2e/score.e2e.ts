import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { guideShot } from './guide';
import { storageStateFor } from './sessions';

/**
 * The risk manager's workspace, end to end, at both widths: score a sample applicant, read the
 * decision and the waterfall, change a field and watch the what-if move, try the counterfactual
 * hint, and read a model's global view. The pages must run under the strict CSP without a single
 * violation. Screenshots go to static/guide/ for the user guide.
 */
// The first test of a run also signs the administrator in for the first time and creates the
// people it needs; a TOTP code may have to wait for the next 30-second step.
test.describe.configure({ mode: 'serial', timeout: 180_000 });

/**
 * Content-Security-Policy violations of a page, from the browser's `securitypolicyviolation`
 * events. One kind is expected and skipped: a style attribute written in a component's markup,
 * which the CSP blocks when Svelte parses the template; the only one in the built client is
 * SvelteKit's own route announcer (checked below), whose rules app.css repeats.
 */
async function watchCsp(page: Page): Promise<string[]> {
	const violations: string[] = [];
	await page.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (event) => {
			console.error(`CSP violation: ${event.violatedDirective} ${event.sourceFile}:${event.lineNumber}`);
		});
	});
	page.on('console', (message) => {
		const text = message.text();
		if (!text.startsWith('CSP violation')) return;
		if (text.startsWith('CSP violation: style-src-attr')) return;
		violations.push(text);
	});
	return violations;
}

/** Every static `style="…"` attribute in the markup of the built client code. */
function staticStyleAttributes(dir = 'build/client/_app/immutable'): string[] {
	const found: string[] = [];
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		const file = path.join(dir, entry.name);
		if (entry.isDirectory()) found.push(...staticStyleAttributes(file));
		else if (file.endsWith('.js')) {
			for (const match of readFileSync(file, 'utf8').matchAll(/<[a-z][^<>`]*\sstyle="[^"]*"/g))
				found.push(match[0]);
		}
	}
	return found;
}

test('the only style attribute in the client markup is SvelteKit’s route announcer', () => {
	const found = staticStyleAttributes();
	expect(found).toHaveLength(1);
	expect(found[0]).toMatch(/^<div id="svelte-announcer"/);
});

test('a risk manager scores a sample applicant and explores a what-if', async ({ browser }, testInfo) => {
	const storageState = await storageStateFor(browser, 'risk_manager');
	const context = await browser.newContext({ storageState, viewport: testInfo.project.use.viewport ?? null });
	const page = await context.newPage();
	const violations = await watchCsp(page);

	await page.goto('/score');
	await expect(page.getByRole('heading', { level: 1, name: 'Score an applicant' })).toBeVisible();
	await page.getByRole('link', { name: 'Lending Club default risk (XGBoost)' }).click();
	await expect(page.getByRole('heading', { name: 'Applicant' })).toBeVisible();

	// Client-side validation: a message at the field, nothing sent.
	await page.getByLabel(/^Loan amount/).fill('999999');
	await page.getByRole('button', { name: 'Score and record' }).click();
	await expect(page.getByText('Loan amount must be at most 40000 USD')).toBeVisible();
	await expect(page.getByLabel(/^Loan amount/)).toHaveAttribute('aria-invalid', 'true');

	await page.getByRole('link', { name: 'Likely decline' }).click();
	await expect(page).toHaveURL(/sample=decline/);
	await expect(page.getByLabel(/^Loan amount/)).not.toHaveValue('');
	await expect(page.getByText('Loan amount must be at most 40000 USD')).toHaveCount(0);
	await guideShot(page, testInfo, 'score-form');

	await page.getByRole('button', { name: 'Score and record' }).click();
	const decision = page.getByTestId('decision');
	await expect(decision).toContainText('Decline');
	await expect(page.getByText(/^Recorded decision/)).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Why: contribution of each feature' })).toBeVisible();
	// The waterfall: drawn, and in words (base value, a push with its sign, the final score).
	await expect(page.locator('.waterfall svg').first()).toBeVisible();
	await expect(page.locator('.waterfall svg text', { hasText: 'Base value' })).toBeVisible();
	await expect(page.locator('.waterfall svg text', { hasText: /raises risk/ }).first()).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Main reasons' })).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Applicant vs population' })).toBeVisible();
	await expect(page.getByText(/of training applicants/).first()).toBeVisible();
	const recorded = (await page.getByTestId('probability').textContent()) ?? '';
	await guideShot(page, testInfo, 'score-result');

	// What-if: a lower interest rate, scored again without a reload and without being recorded.
	await page.getByLabel(/^Interest rate/).fill('6');
	await expect(page.getByText('What-if — not recorded')).toBeVisible();
	await expect(page.getByTestId('probability')).not.toHaveText(recorded);
	await expect(page.getByTestId('what-if-compare')).toContainText(`Recorded: ${recorded}`);
	await expect(page.getByText('changed', { exact: true })).toBeVisible();
	// On a phone the result sits under the form: a summary strip keeps it in sight while editing.
	const summary = page.getByTestId('result-summary');
	if (testInfo.project.name === 'phone') {
		expect(page.viewportSize()?.width).toBe(390);
		await page.getByLabel(/^Revolving utilisation/).scrollIntoViewIfNeeded();
		await expect(summary).toBeInViewport();
		await expect(summary).toContainText('What-if');
		await expect(summary).toContainText(
			(await page.getByTestId('probability').textContent()) ?? 'the what-if probability'
		);
	} else {
		await expect(summary).toBeHidden();
	}

	// A bad value in what-if gets its message at the field.
	await page.getByLabel(/^Revolving utilisation/).fill('abc');
	await expect(page.getByText('Revolving utilisation must be a number')).toBeVisible();
	await page.getByLabel(/^Interest rate/).fill(await page.getByLabel(/^Interest rate/).inputValue());
	await page.getByRole('link', { name: 'Likely decline' }).click();
	await expect(page.getByText('Fill in the applicant or pick a sample')).toBeVisible();
	await page.getByRole('button', { name: 'Score and record' }).click();
	await expect(decision).toContainText('Decline');

	// The counterfactual hint, tried in what-if, must really approve.
	const hint = page.getByTestId('counterfactual-best');
	if ((await hint.count()) > 0) {
		await expect(hint).toContainText(/Scored again with th(is|ese) changes?: probability of default/);
		await page.getByRole('button', { name: /^Try th(is|ese) changes?$/ }).click();
		await expect(page.getByText('What-if — not recorded')).toBeVisible();
		await expect(decision).toContainText('Approve');
	} else {
		await expect(page.getByTestId('counterfactual-none')).toContainText(
			/No change of up to 3 of the features|None of the features/
		);
		await page.getByLabel(/^Interest rate/).fill('6');
		await expect(page.getByText('What-if — not recorded')).toBeVisible();
	}
	await guideShot(page, testInfo, 'what-if');

	expect(violations).toEqual([]);
	await context.close();
});

test('anyone signed in reads a model’s global view; a viewer may not score', async ({
	browser
}, testInfo) => {
	const storageState = await storageStateFor(browser, 'viewer');
	const context = await browser.newContext({ storageState, viewport: testInfo.project.use.viewport ?? null });
	const page = await context.newPage();
	const violations = await watchCsp(page);

	await page.goto('/models');
	await page.getByRole('link', { name: 'Lending Club default risk (XGBoost)' }).click();
	await expect(page.getByRole('heading', { name: 'What the model weighs' })).toBeVisible();
	await expect(page.locator('.importance svg').first()).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Holdout performance' })).toBeVisible();
	const holdout = page.getByRole('region', { name: 'Holdout performance' });
	await expect(holdout.getByRole('cell', { name: '0.7568' })).toBeVisible();
	await expect(page.getByRole('heading', { level: 2, name: 'Decision policy' })).toBeVisible();
	await expect(page.getByRole('heading', { level: 2, name: 'Model card' })).toBeVisible();
	await expect(page.getByRole('heading', { name: 'Intended use' })).toBeVisible();
	await expect(page.getByRole('link', { name: /Score an applicant with/ })).toHaveCount(0);
	await guideShot(page, testInfo, 'model-overview');

	await page.getByRole('link', { name: /scorecard-1\.0\.0/ }).click();
	await expect(page).toHaveURL(/version=scorecard-1\.0\.0/);
	await expect(holdout.getByRole('cell', { name: '0.7656' })).toBeVisible();

	const refused = await page.goto('/score/lending-club');
	expect(refused?.status()).toBe(403);
	await expect(page.getByRole('banner').getByRole('link', { name: 'Score' })).toHaveCount(0);
	await expect(page.getByRole('banner').getByRole('link', { name: 'Models' })).toBeVisible();

	expect(violations).toEqual([]);
	await context.close();
});
