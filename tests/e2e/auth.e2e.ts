import { readFile } from 'node:fs/promises';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { FIRST_ADMIN, rememberPerson } from './first-admin';
import { rememberAdmin } from './sessions';

/**
 * People and access, end to end, on the fresh server: the first administrator's first sign-in
 * (forced password change, then two-factor enrolment), sign-out, sign-in with a TOTP code, and a
 * viewer who cannot open the administration pages. Stateful, so it runs once (desktop project)
 * and takes its screenshots at both widths.
 */
test.describe.configure({ mode: 'serial' });

const NEW_ADMIN_PASSWORD = 'a long admin passphrase of mine';
const VIEWER = {
	email: 'vera.viewer@e2e.example.com',
	name: 'Vera Viewer',
	password: 'vera chose this passphrase'
};
const WIDTHS = [
	{ name: 'desktop', width: 1440, height: 900 },
	{ name: 'phone', width: 390, height: 844 }
];

/** Codes already entered per key: the server accepts each 30-second step once. */
const usedSteps = new Map<string, number>();

/** What an authenticator app shows for this key now (or the next step, if this one was used). */
function totp(manualKey: string): string {
	const key = decodeBase32IgnorePadding(manualKey.replace(/\s/g, '').toUpperCase());
	const now = Math.floor(Date.now() / 30_000);
	const step = Math.max(now, (usedSteps.get(manualKey) ?? -1) + 1);
	usedSteps.set(manualKey, step);
	return generateHOTP(key, BigInt(step), 6);
}

async function shoot(page: Page, name: string) {
	const original = page.viewportSize();
	for (const { name: width, ...size } of WIDTHS) {
		await page.setViewportSize(size);
		await page.screenshot({ path: `tests/e2e/screenshots/auth-${name}-${width}.png`, fullPage: true });
	}
	if (original) await page.setViewportSize(original);
}

async function signIn(page: Page, email: string, password: string) {
	await page.goto('/login');
	await page.getByLabel('E-mail').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut(page: Page) {
	await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
	await expect(page).toHaveURL(/\/login$/);
}

async function changePassword(page: Page, current: string, next: string) {
	await expect(page).toHaveURL(/\/account\/password/);
	await page.getByLabel('Current password').fill(current);
	await page.getByLabel('New password', { exact: true }).fill(next);
	await page.getByLabel('New password again').fill(next);
	await page.getByRole('button', { name: 'Change password' }).click();
}

/** Enrols the signed-in person, reading the key off the page as someone typing it into an app would. */
async function enrol(page: Page, screenshot?: string): Promise<string> {
	await expect(page).toHaveURL(/\/account\/2fa/);
	await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
	const manualKey = (await page.getByTestId('totp-secret').textContent())?.trim() ?? '';
	expect(manualKey).toMatch(/^[A-Z2-7 ]{32,}$/);
	if (screenshot) await shoot(page, screenshot);
	await page.getByLabel('6-digit code').fill(totp(manualKey));
	await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
	await expect(page.getByRole('heading', { name: 'Your recovery codes' })).toBeVisible();
	await expect(page.getByTestId('recovery-codes').getByRole('listitem')).toHaveCount(10);
	// The codes can be kept as a file: the download holds each one.
	const [download] = await Promise.all([
		page.waitForEvent('download'),
		page.getByRole('link', { name: 'Download as a text file' }).click()
	]);
	expect(download.suggestedFilename()).toBe('credible-recovery-codes.txt');
	const saved = await readFile((await download.path()) ?? '', 'utf8');
	for (const code of await page.getByTestId('recovery-codes').getByRole('listitem').allTextContents())
		expect(saved).toContain(code.trim());
	return manualKey;
}

function onlyOnce(testInfo: TestInfo) {
	test.skip(testInfo.project.name !== 'desktop', 'stateful flow: runs once, screenshots at both widths');
}

let adminKey = '';
let viewerTemporaryPassword = '';

test('the first administrator changes the password and enrols two-factor at first sign-in', async ({
	page
}, testInfo) => {
	onlyOnce(testInfo);
	await page.goto('/login');
	await shoot(page, 'login');

	// A wrong password and an unknown account get the same answer.
	await signIn(page, FIRST_ADMIN.email, 'not the password at all');
	await expect(page.getByRole('alert')).toHaveText('Incorrect e-mail or password.');
	await signIn(page, 'nobody@e2e.example.com', FIRST_ADMIN.password);
	await expect(page.getByRole('alert')).toHaveText('Incorrect e-mail or password.');

	await signIn(page, FIRST_ADMIN.email, FIRST_ADMIN.password);
	await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();
	// Nothing else opens before the password is changed.
	await page.goto('/admin');
	await expect(page).toHaveURL(/\/account\/password/);
	await shoot(page, 'forced-password');

	// Long enough for the browser's own check, but on the list of common passwords.
	await changePassword(page, FIRST_ADMIN.password, 'password1234');
	await expect(page.getByText('This password is too common; choose another.')).toBeVisible();
	await changePassword(page, FIRST_ADMIN.password, NEW_ADMIN_PASSWORD);

	adminKey = await enrol(page, 'enrol');
	rememberAdmin({ password: NEW_ADMIN_PASSWORD, totpKey: adminKey });
	// Other specs of this run sign in as this administrator (tests/e2e/portal.e2e.ts).
	const lastStep = usedSteps.get(adminKey) ?? 0;
	await rememberPerson('admin', {
		email: FIRST_ADMIN.email,
		password: NEW_ADMIN_PASSWORD,
		manualKey: adminKey,
		lastStep
	});
	await shoot(page, 'recovery-codes');
	await page.getByRole('link', { name: /I have saved them/ }).click();
	await expect(page).toHaveURL(/\/$/);
	await expect(page.getByRole('banner')).toContainText('Administrator');
	await expect(page.getByRole('banner').getByRole('link', { name: 'Administration' })).toBeVisible();
});

test('the administrator signs out and back in with a code from the app', async ({ page }, testInfo) => {
	onlyOnce(testInfo);
	await signIn(page, FIRST_ADMIN.email, NEW_ADMIN_PASSWORD);
	await expect(page).toHaveURL(/\/login\/2fa/);
	await page.getByLabel('Code').fill('000000');
	await page.getByRole('button', { name: 'Verify' }).click();
	await expect(page.getByText('That code is not right')).toBeVisible();
	await shoot(page, 'second-factor');
	await page.getByLabel('Code').fill(totp(adminKey));
	await page.getByRole('button', { name: 'Verify' }).click();
	await expect(page).toHaveURL(/\/$/);

	await page.goto('/admin');
	await expect(page.getByRole('heading', { name: 'Administration' })).toBeVisible();
	await shoot(page, 'admin');

	await page.goto('/admin/users');
	const addPerson = page.getByRole('region', { name: 'Add a person' });
	await addPerson.getByLabel('E-mail').fill(VIEWER.email);
	await addPerson.getByLabel('Full name').fill(VIEWER.name);
	await addPerson.getByLabel('Role').selectOption('viewer');
	await addPerson.getByRole('button', { name: 'Create account' }).click();
	viewerTemporaryPassword = (await page.getByTestId('temporary-password').textContent())?.trim() ?? '';
	expect(viewerTemporaryPassword).toHaveLength(20);
	const listed = page.getByRole('table').getByRole('link', { name: VIEWER.name });
	await expect(listed).toBeVisible();
	await shoot(page, 'users');

	await listed.click();
	await expect(page.getByRole('heading', { name: VIEWER.name })).toBeVisible();
	await shoot(page, 'user');

	await page.goto('/admin/service-accounts');
	const addAccount = page.getByRole('region', { name: 'Add a service account' });
	await addAccount.getByLabel('Name').fill('loan-origination');
	await addAccount.getByRole('button', { name: 'Create' }).click();
	await expect(page.getByTestId('client-secret')).toHaveText(/^[A-Za-z0-9_-]{43}$/);
	await shoot(page, 'service-accounts');

	await page.goto('/admin/audit?action=auth.login_failed');
	await expect(page.getByRole('cell', { name: 'auth.login_failed' }).first()).toBeVisible();
	await page.goto('/admin/audit');
	await expect(page.getByRole('cell', { name: 'user.2fa_enrol' })).toBeVisible();
	await shoot(page, 'audit');
	await signOut(page);
});

test('a viewer cannot open the administration pages', async ({ page }, testInfo) => {
	onlyOnce(testInfo);
	await signIn(page, VIEWER.email, viewerTemporaryPassword);
	await changePassword(page, viewerTemporaryPassword, VIEWER.password);
	// Production requires two-factor authentication for everyone by default.
	await enrol(page);
	await page.getByRole('link', { name: /I have saved them/ }).click();
	await expect(page.getByRole('banner')).toContainText(VIEWER.name);
	await expect(page.getByRole('banner').getByRole('link', { name: 'Administration' })).toHaveCount(0);

	for (const path of ['/admin', '/admin/users', '/admin/audit', '/admin/service-accounts']) {
		const response = await page.goto(path);
		expect(response?.status()).toBe(403);
		await expect(
			page.getByText(
				'You do not have access to this page: it is for administrators, and you are signed in as a viewer.'
			)
		).toBeVisible();
		await expect(page.getByRole('link', { name: 'Go to your home page' })).toBeVisible();
	}
	await shoot(page, 'forbidden');

	await signOut(page);
	// Signed out, an administration page asks for a sign-in and remembers where to go back.
	await page.goto('/admin/users');
	await expect(page).toHaveURL(/\/login\?redirectTo=%2Fadmin%2Fusers$/);
});

test('pages carry the security headers and form actions refuse other origins', async ({ request }) => {
	const response = await request.get('/login');
	const headers = response.headers();
	expect(headers['content-security-policy']).toMatch(/script-src 'self' 'nonce-[^']+'/);
	expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
	// Inline style *attributes* are allowed (svelte.config.js says why); scripts and <style> never.
	const directive = (name: string) =>
		(headers['content-security-policy'] ?? '')
			.split(';')
			.map((part) => part.trim())
			.find((part) => part.startsWith(`${name} `)) ?? '';
	expect(directive('script-src')).not.toContain('unsafe-inline');
	expect(directive('style-src')).not.toContain('unsafe-inline');
	expect(directive('style-src-attr')).toBe("style-src-attr 'unsafe-inline'");
	expect(headers['strict-transport-security']).toMatch(/max-age=\d+/);
	expect(headers['x-frame-options']).toBe('DENY');
	expect(headers['referrer-policy']).toBe('same-origin');
	expect(headers['x-content-type-options']).toBe('nosniff');

	const forged = await request.post('/login', {
		headers: { origin: 'https://attacker.example' },
		form: { email: FIRST_ADMIN.email, password: NEW_ADMIN_PASSWORD }
	});
	expect(forged.status()).toBe(403);
});
