import { defineConfig, devices } from '@playwright/test';
import { E2E_SERVICE_ACCOUNT_FILE, FIRST_ADMIN } from './tests/e2e/first-admin';

const port = Number(process.env.E2E_PORT ?? 4173);

/**
 * End-to-end tests drive Debian's Chromium (no browser download is possible here) against the
 * production build served by `server.js` on a throwaway embedded database.
 */
export default defineConfig({
	testDir: 'tests/e2e',
	testMatch: '**/*.e2e.ts',
	fullyParallel: false,
	// Two cores run the server, its workers and Chromium: flows with many screenshots need time.
	timeout: 120_000,
	expect: { timeout: 15_000 },
	workers: 1,
	retries: 0,
	reporter: [['list']],
	outputDir: 'test-results',
	use: {
		baseURL: `http://127.0.0.1:${port}`,
		trace: 'retain-on-failure',
		launchOptions: {
			executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
			args: [
				'--no-sandbox',
				'--disable-gpu',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
				'--no-first-run'
			]
		}
	},
	projects: [
		{ name: 'desktop', use: { ...devices['Desktop Chrome'], viewport: { width: 1440, height: 900 } } },
		{ name: 'phone', use: { ...devices['Pixel 7'], viewport: { width: 390, height: 844 } } }
	],
	webServer: {
		// A fresh database, with a scoring service account made by the CLI for tests/e2e/api-client.e2e.ts.
		command: [
			'rm -rf .data/e2e && mkdir -p .data/e2e',
			`node --import tsx src/cli/credible.ts service-account create e2e-client --role scorer --json > ${E2E_SERVICE_ACCOUNT_FILE}`,
			'node server.js'
		].join(' && '),
		url: `http://127.0.0.1:${port}/readyz`,
		reuseExistingServer: false,
		timeout: 120_000,
		env: {
			NODE_ENV: 'production',
			PORT: String(port),
			HOST: '127.0.0.1',
			PGLITE_DIR: '.data/e2e/pglite',
			LOG_LEVEL: 'warn',
			ORIGIN: `http://127.0.0.1:${port}`,
			// Throwaway secrets: production mode requires them.
			JWT_SECRET: 'e2e-jwt-secret-e2e-jwt-secret-e2e-jwt-secret',
			TOTP_ENCRYPTION_KEY: '0123456789abcdef'.repeat(4),
			// The first administrator, created on the fresh database; tests/e2e/auth.e2e.ts signs in as it.
			CREDIBLE_ADMIN_EMAIL: FIRST_ADMIN.email,
			CREDIBLE_ADMIN_PASSWORD: FIRST_ADMIN.password
		}
	}
});
