/** The first administrator of the e2e server: playwright.config.ts passes these to it. */
export const FIRST_ADMIN = {
	email: 'admin@e2e.example.com',
	password: 'e2e initial admin password'
} as const;
