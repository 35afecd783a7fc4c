/**
 * Layout at both widths (1440 px and 390 px) of the pages an outside review found wanting: the
 * user guide fits a phone and folds into sections there; the decision report's SHAP table reads
 * whole without widening the page, and the report prints on at most two A4 pages; the score
 * gauge draws every zone name and cut-off; a model card's table fits its wrapper at 1440 px.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { createCredibleClient } from '../../examples/score-client';
import { readPdf } from '../helpers/pdf-text';
import { E2E_SERVICE_ACCOUNT_FILE } from './first-admin';
import { storageStateFor } from './sessions';

test.describe.configure({ mode: 'serial', timeout: 180_000 });

const golden = readFileSync('models/lending-club/xgb-1.0.0/golden.jsonl', 'utf8').trim().split('\n');
const applicant = (JSON.parse(golden[3] ?? '{}') as { raw: Record<string, number | string | null> }).raw;

async function signedIn(browser: Browser, width: number, height: number) {
	const storageState = await storageStateFor(browser, 'risk_manager');
	const context = await browser.newContext({ storageState, viewport: { width, height } });
	return { context, page: await context.newPage() };
}

const pageWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

/** Loads every lazy image, so the page's height is the height a reader scrolls through. */
async function loadImages(page: Page) {
	await page.evaluate(() => {
		for (const image of document.images) image.loading = 'eager';
	});
	await page.waitForFunction(() => [...document.images].every((image) => image.complete));
	await page.evaluate(() => window.scrollTo(0, 0));
}

test('the user guide fits the width and folds into sections on a phone', async ({ browser }, testInfo) => {
	const { width = 1440, height = 900 } = testInfo.project.use.viewport ?? {};
	const { context, page } = await signedIn(browser, width, height);
	await page.goto('/guide', { waitUntil: 'networkidle' });
	await expect(page.getByRole('heading', { level: 1, name: 'User guide' })).toBeVisible();
	const sections = page.locator('article.guide details');
	await expect(sections).toHaveCount(7);
	expect(await pageWidth(page)).toBe(width);

	if (testInfo.project.name === 'phone') {
		// Folded once loaded: every heading shows, the text waits behind it.
		await expect(page.locator('article.guide details[open]')).toHaveCount(0);
		await expect(
			page.getByRole('heading', { level: 2, name: '6. History and decision reports' })
		).toBeVisible();
		await expect(page.getByRole('img', { name: /decision report/ })).toBeHidden();
		const folded = await page.evaluate(() => document.documentElement.scrollHeight);
		expect(folded).toBeLessThan(2 * height);
		// A table of contents link opens its section.
		await page
			.getByRole('navigation', { name: 'Contents' })
			.getByRole('link', { name: 'History and decision reports' })
			.click();
		await expect(page.getByRole('img', { name: /decision report/ })).toBeVisible();
		await expect(page.locator('#history').getByText('Open the whole picture').first()).toBeVisible();
		// Every section open: the pictures are cut to the top of the screen, so the guide stays short.
		await page.evaluate(() => {
			for (const details of document.querySelectorAll('article.guide details'))
				(details as HTMLDetailsElement).open = true;
		});
		await expect(page.locator('article.guide details[open]')).toHaveCount(7);
		await loadImages(page);
		const unfolded = await page.evaluate(() => document.documentElement.scrollHeight);
		expect(unfolded).toBeLessThan(12_000);
		testInfo.annotations.push({
			type: 'guide height',
			description: `${folded} px folded, ${unfolded} px open`
		});
		for (const image of await page.locator('article.guide figure img').all()) {
			expect((await image.boundingBox())?.height ?? 0).toBeLessThanOrEqual(22 * 16 + 1);
		}
	} else {
		await expect(page.locator('article.guide details[open]')).toHaveCount(7);
		await expect(page.getByRole('img', { name: /decision report/ })).toBeVisible();
		await expect(page.getByText('Open the whole picture').first()).toBeHidden();
	}
	expect(await pageWidth(page)).toBe(width);
	await context.close();
});

test('the decision report reads whole at its width and prints on two A4 pages at most', async ({
	browser,
	baseURL
}, testInfo) => {
	const account = JSON.parse(readFileSync(E2E_SERVICE_ACCOUNT_FILE, 'utf8')) as {
		clientId: string;
		clientSecret: string;
	};
	const credible = createCredibleClient({ url: baseURL ?? '', ...account });
	const decision = await credible.scoring.score.mutate({ model: 'lending-club', applicant, explain: true });
	const { width = 1440, height = 900 } = testInfo.project.use.viewport ?? {};
	const { context, page } = await signedIn(browser, width, height);
	await page.goto(`/history/${decision.predictionId}`);
	await expect(page.getByRole('heading', { name: 'Why: the stored explanation' })).toBeVisible();
	expect(await pageWidth(page)).toBe(width);

	const table = page.locator('.waterfall .numbers .table-wrap');
	await expect(table).toBeVisible();
	const fit = await table.evaluate((wrap) => {
		const box = wrap.getBoundingClientRect();
		const cells = [...wrap.querySelectorAll('tbody td')] as HTMLElement[];
		return {
			right: box.right,
			scrolls: wrap.scrollWidth > wrap.clientWidth + 1,
			outside: cells.filter((cell) => {
				const c = cell.getBoundingClientRect();
				return c.left < box.left - 1 || c.right > box.right + 1;
			}).length,
			clipped: cells.filter((cell) => cell.scrollWidth > cell.clientWidth + 1).length,
			cells: cells.length
		};
	});
	// Every feature's row is there, each cell whole and inside the table's box on screen.
	expect(fit.cells).toBe(4 * (decision.explanation?.contributions.length ?? 0) + 8);
	expect(fit.right).toBeLessThanOrEqual(width);
	expect(fit).toMatchObject({ scrolls: false, outside: 0, clipped: 0 });

	if (testInfo.project.name === 'desktop') {
		const bytes = await page.pdf({ format: 'A4' });
		await writeFile(testInfo.outputPath('report.pdf'), bytes);
		const pdf = await readPdf(bytes);
		testInfo.annotations.push({ type: 'printed pages', description: String(pdf.pages) });
		expect(pdf.pages).toBeLessThanOrEqual(2);
		expect(pdf.text).toContain('Why: the stored explanation');
		expect(pdf.text).toContain('This applicant');
		expect(pdf.text).toContain('Application');
		// The id may wrap at a hyphen: PDF.js then reads a space there.
		expect(pdf.text.replace(/- /g, '-')).toContain(decision.predictionId ?? 'the prediction id');
		expect(pdf.text).not.toContain('Record the final decision');
	}
	await context.close();
});

test('the score gauge names every zone and cut-off at its width', async ({ browser }, testInfo) => {
	const { width = 1440, height = 900 } = testInfo.project.use.viewport ?? {};
	const { context, page } = await signedIn(browser, width, height);
	const models = [
		{ id: 'consumer-credit', cutoffs: ['8.5 %', '15.5 %'] },
		{ id: 'lending-club', cutoffs: ['11.0 %', '16.5 %'] }
	];
	for (const model of models) {
		await page.goto(`/score/${model.id}?sample=decline`, { waitUntil: 'networkidle' });
		await page.getByRole('button', { name: 'Score and record' }).click();
		await expect(page.getByText(/^Recorded decision/)).toBeVisible();
		const gauge = page.locator('.gauge svg');
		const labels = await gauge.evaluate((svg) => {
			const box = svg.getBoundingClientRect();
			return [...svg.querySelectorAll('text')].map((text) => {
				const b = text.getBBox();
				const r = text.getBoundingClientRect();
				return {
					text: text.textContent ?? '',
					x: b.x,
					y: b.y,
					w: b.width,
					h: b.height,
					inside: r.left >= box.left - 1 && r.right <= box.right + 1
				};
			});
		});
		const names = labels.map((label) => label.text);
		for (const expected of ['Approve', 'Review', 'Decline', '0.0 %', ...model.cutoffs])
			expect(names, `${model.id} at ${width} px`).toContain(expected);
		expect(labels.filter((label) => !label.inside)).toEqual([]);
		for (const [i, a] of labels.entries()) {
			for (const b of labels.slice(i + 1)) {
				const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
				// The applicant's value sits over the bar and may cross a zone name inside it.
				const zoneUnderValue = [a, b].some((l) => /^\d+\.\d %$/.test(l.text) && l.y < 20);
				if (!zoneUnderValue) expect(overlap, `"${a.text}" overlaps "${b.text}" (${model.id})`).toBe(false);
			}
		}
		await page.locator('.gauge').screenshot({
			path: `tests/e2e/screenshots/gauge-${model.id}-${testInfo.project.name}.png`
		});
	}
	await context.close();
});

test('a model card’s table fits its wrapper at 1440 px and scrolls inside it on a phone', async ({
	browser
}, testInfo) => {
	const { width = 1440, height = 900 } = testInfo.project.use.viewport ?? {};
	const { context, page } = await signedIn(browser, width, height);
	await page.goto('/models/lending-club');
	await expect(page.getByRole('heading', { level: 2, name: 'Model card' })).toBeVisible();
	const wraps = page.locator('.markdown .table-wrap');
	expect(await wraps.count()).toBeGreaterThan(0);
	for (const wrap of await wraps.all()) {
		const fit = await wrap.evaluate((element) => ({
			scrolls: element.scrollWidth > element.clientWidth + 1,
			overflowX: getComputedStyle(element).overflowX,
			clipped: [...element.querySelectorAll('th, td')].filter(
				(cell) => cell.scrollWidth > cell.clientWidth + 1
			).length
		}));
		expect(fit.clipped).toBe(0);
		if (testInfo.project.name === 'desktop') expect(fit.scrolls).toBe(false);
		else expect(fit.overflowX).toBe('auto');
	}
	expect(await pageWidth(page)).toBe(width);
	await context.close();
});
