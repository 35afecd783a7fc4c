import type { Page, TestInfo } from '@playwright/test';

/** The tallest guide image, in pixels; src/routes/guide/guide-images.spec.ts holds the folder to it. */
export const GUIDE_MAX_HEIGHT = 2000;

/**
 * A screenshot for the user guide, `static/guide/<name>-<project>.jpg`: JPEG at quality 75, in CSS
 * pixels (a phone's device pixel ratio would multiply the size), at most 2,000 px tall.
 * `page` shoots the page from its top, in a window made as tall as the page (up to the cap) so
 * that the desktop's sticky result column is laid out whole; `viewport` shoots what is on screen.
 */
export async function guideShot(
	page: Page,
	testInfo: TestInfo,
	name: string,
	from: 'page' | 'viewport' = 'page'
) {
	const options = {
		path: `static/guide/${name}-${testInfo.project.name}.jpg`,
		type: 'jpeg',
		quality: 75,
		scale: 'css',
		animations: 'disabled'
	} as const;
	const viewport = page.viewportSize();
	if (from === 'viewport' || !viewport) {
		await page.screenshot(options);
		return;
	}
	const height = await page.evaluate(() => document.documentElement.scrollHeight);
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.setViewportSize({
		width: viewport.width,
		height: Math.min(Math.max(height, viewport.height), GUIDE_MAX_HEIGHT)
	});
	try {
		await page.screenshot(options);
	} finally {
		await page.setViewportSize(viewport);
	}
}
