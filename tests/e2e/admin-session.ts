import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type BrowserContext, type Page } from '@playwright/test';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { FIRST_ADMIN } from './first-admin';

/**
 * Signs the first administrator in, whichever e2e file got there first: on a fresh server it does
 * the first sign-in (new password, two-factor enrolment) and keeps the authenticator key beside
 * the throwaway database (wiped when the e2e server starts), so later files can sign in again.
 */
export const ADMIN_PASSWORD = 'a long admin passphrase of mine';
const KEY_FILE = path.resolve('.data/e2e/first-admin-totp.json');
const STATE_FILE = path.resolve('.data/e2e/first-admin-state.json');

/** Records the administrator's authenticator key for the other e2e files. */
export function rememberAdminKey(manualKey: string): void {
	mkdirSync(path.dirname(KEY_FILE), { recursive: true });
	writeFileSync(KEY_FILE, JSON.stringify({ manualKey }), { mode: 0o600 });
}

function rememberedKey(): string | null {
	if (!existsSync(KEY_FILE)) return null;
	return (JSON.parse(readFileSync(KEY_FILE, 'utf8')) as { manualKey: string }).manualKey;
}

/** The code an authenticator shows `offset` steps from now. */
function code(manualKey: string, offset = 0): string {
	const key = decodeBase32IgnorePadding(manualKey.replace(/\s/g, '').toUpperCase());
	return generateHOTP(key, BigInt(Math.floor(Date.now() / 30_000) + offset), 6);
}

/**
 * Leaves `page` signed in as the first administrator. A session from an earlier test is reused
 * (a code of the same 30-second step cannot be entered twice); otherwise it signs in.
 */
export async function signInAsAdmin(page: Page): Promise<void> {
	if (existsSync(STATE_FILE)) {
		const { cookies } = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as {
			cookies: Parameters<BrowserContext['addCookies']>[0];
		};
		await page.context().addCookies(cookies);
		await page.goto('/account');
		if (new URL(page.url()).pathname === '/account') return;
	}
	await signIn(page);
	await page.context().storageState({ path: STATE_FILE });
}

async function signIn(page: Page): Promise<void> {
	const key = rememberedKey();
	await page.goto('/login');
	await page.getByLabel('E-mail').fill(FIRST_ADMIN.email);
	await page.getByLabel('Password').fill(key ? ADMIN_PASSWORD : FIRST_ADMIN.password);
	await page.getByRole('button', { name: 'Sign in' }).click();
	if (key) {
		await expect(page).toHaveURL(/\/login\/2fa/);
		// The step just used by another file is refused: the next one is within the accepted drift.
		for (const offset of [1, 0, 2]) {
			await page.getByLabel('Code').fill(code(key, offset));
			await page.getByRole('button', { name: 'Verify' }).click();
			await page
				.waitForURL((url) => !url.pathname.startsWith('/login/2fa'), { timeout: 3000 })
				.catch(() => undefined);
			if (!new URL(page.url()).pathname.startsWith('/login/2fa')) break;
		}
		await expect(page).toHaveURL(/\/$/);
		return;
	}
	await expect(page).toHaveURL(/\/account\/password/);
	await page.getByLabel('Current password').fill(FIRST_ADMIN.password);
	await page.getByLabel('New password', { exact: true }).fill(ADMIN_PASSWORD);
	await page.getByLabel('New password again').fill(ADMIN_PASSWORD);
	await page.getByRole('button', { name: 'Change password' }).click();
	await expect(page).toHaveURL(/\/account\/2fa/);
	const manualKey = (await page.getByTestId('totp-secret').textContent())?.trim() ?? '';
	await page.getByLabel('6-digit code').fill(code(manualKey));
	await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
	await expect(page.getByRole('heading', { name: 'Your recovery codes' })).toBeVisible();
	rememberAdminKey(manualKey);
	await page.getByRole('link', { name: /I have saved them/ }).click();
	await expect(page).toHaveURL(/\/$/);
}
