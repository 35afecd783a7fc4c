/** The first administrator of the e2e server: playwright.config.ts passes these to it. */
export const FIRST_ADMIN = {
	email: 'admin@e2e.example.com',
	password: 'e2e initial admin password'
} as const;

/** Credentials of a scoring service account, written by the CLI before the e2e server starts. */
export const E2E_SERVICE_ACCOUNT_FILE = '.data/e2e/service-account.json';
