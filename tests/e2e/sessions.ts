/**
 * Signed-in browser sessions for e2e tests on the fresh server. The first administrator's first
 * sign-in (new password, two-factor enrolment) happens once per run, in whichever test comes
 * first; its password and TOTP key are kept under `.data/e2e/` (wiped when the server starts), so
 * later tests sign in as it and create the people they need through the administration pages.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type Browser, type Page } from '@playwright/test';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { FIRST_ADMIN } from './first-admin';

const STATE_DIR = '.data/e2e';
const ADMIN_FILE = path.join(STATE_DIR, 'admin.json');

interface Credentials {
	password: string;
	totpKey: string;
}

/** Records the first administrator's current credentials for the tests that follow. */
export function rememberAdmin(credentials: Credentials): void {
	mkdirSync(STATE_DIR, { recursive: true });
	writeFileSync(ADMIN_FILE, JSON.stringify(credentials), { mode: 0o600 });
}

function rememberedAdmin(): Credentials | null {
	return existsSync(ADMIN_FILE) ? (JSON.parse(readFileSync(ADMIN_FILE, 'utf8')) as Credentials) : null;
}

/** The code an authenticator app shows for this key, `offset` 30-second steps from now. */
function totp(manualKey: string, offset = 0): string {
	const key = decodeBase32IgnorePadding(manualKey.replace(/\s/g, '').toUpperCase());
	return generateHOTP(key, BigInt(Math.floor(Date.now() / 30_000) + offset), 6);
}

/**
 * Signs in with a password. The form is filled once the page's scripts have loaded: on a busy
 * machine, hydration can otherwise land between filling and submitting and clear a field.
 */
async function signIn(page: Page, email: string, password: string) {
	await page.goto('/login', { waitUntil: 'networkidle' });
	await page.getByLabel('E-mail').fill(email);
	await page.getByLabel('Password').fill(password);
	await expect(page.getByLabel('E-mail')).toHaveValue(email);
	await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Enters a TOTP code; the server takes each step once, so a code already used waits for the next. */
async function secondFactor(page: Page, manualKey: string) {
	await expect(page).toHaveURL(/\/login\/2fa/);
	for (let attempt = 0; attempt < 3; attempt++) {
		await page.getByLabel('Code').fill(totp(manualKey));
		await page.getByRole('button', { name: 'Verify' }).click();
		// The form is enhanced: the address changes after the answer, not on the click.
		await page
			.waitForURL((url) => !url.pathname.startsWith('/login/2fa'), { timeout: 10_000 })
			.catch(() => undefined);
		if (!new URL(page.url()).pathname.startsWith('/login/2fa')) return;
		await page.waitForTimeout(30_000 - (Date.now() % 30_000) + 500);
	}
	throw new Error('the second factor was refused three times');
}

async function changePassword(page: Page, current: string, next: string) {
	await expect(page).toHaveURL(/\/account\/password/);
	await page.getByLabel('Current password').fill(current);
	await page.getByLabel('New password', { exact: true }).fill(next);
	await page.getByLabel('New password again').fill(next);
	await page.getByRole('button', { name: 'Change password' }).click();
}

async function enrol(page: Page): Promise<string> {
	await expect(page).toHaveURL(/\/account\/2fa/);
	const manualKey = (await page.getByTestId('totp-secret').textContent())?.trim() ?? '';
	await page.getByLabel('6-digit code').fill(totp(manualKey));
	await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
	await expect(page.getByRole('heading', { name: 'Your recovery codes' })).toBeVisible();
	await page.getByRole('link', { name: /I have saved them/ }).click();
	return manualKey;
}

/** Signs the first administrator in, completing its first sign-in when no test has yet. */
export async function signInAsAdmin(page: Page): Promise<void> {
	const known = rememberedAdmin();
	if (known) {
		await signIn(page, FIRST_ADMIN.email, known.password);
		await secondFactor(page, known.totpKey);
		return;
	}
	const password = 'e2e administrator passphrase, changed';
	await signIn(page, FIRST_ADMIN.email, FIRST_ADMIN.password);
	await changePassword(page, FIRST_ADMIN.password, password);
	rememberAdmin({ password, totpKey: await enrol(page) });
}

/**
 * A browser storage state (session cookie) of a fully signed-in person with `role`, created on
 * first use through the administration pages and reused by every later test of the run.
 */
export async function storageStateFor(browser: Browser, role: 'risk_manager' | 'viewer'): Promise<string> {
	const file = path.join(STATE_DIR, `${role}.storage.json`);
	if (existsSync(file)) return file;
	const context = await browser.newContext();
	const page = await context.newPage();
	await signInAsAdmin(page);
	const email = `${role.replace('_', '.')}@e2e.example.com`;
	await page.goto('/admin/users');
	const form = page.getByRole('region', { name: 'Add a person' });
	await form.getByLabel('E-mail').fill(email);
	await form.getByLabel('Full name').fill(role === 'risk_manager' ? 'Rita Risk' : 'Victor Viewer');
	await form.getByLabel('Role').selectOption(role);
	await form.getByRole('button', { name: 'Create account' }).click();
	const temporary = (await page.getByTestId('temporary-password').textContent())?.trim() ?? '';
	await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
	await expect(page).toHaveURL(/\/login$/);

	await signIn(page, email, temporary);
	await changePassword(page, temporary, `${role} e2e passphrase of mine`);
	// Production requires two-factor authentication for everyone by default.
	await enrol(page);
	await expect(page.getByRole('banner')).toContainText(
		role === 'risk_manager' ? 'Rita Risk' : 'Victor Viewer'
	);
	await context.storageState({ path: file });
	await context.close();
	return file;
}
