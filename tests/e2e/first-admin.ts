/** The first administrator of the e2e server: playwright.config.ts passes these to it. */
export const FIRST_ADMIN = {
	email: 'admin@e2e.example.com',
	password: 'e2e initial admin password'
} as const;

/** Credentials of a scoring service account, written by the CLI before the e2e server starts. */
export const E2E_SERVICE_ACCOUNT_FILE = '.data/e2e/service-account.json';

/**
 * People the e2e specs create on the fresh server, shared between spec files of one run (the
 * server's database is new for each run, and so is this file, beside it under .data/e2e): the
 * first administrator can be set up only once, by whichever spec signs in first.
 */
export interface E2ePerson {
	email: string;
	password: string;
	/** The TOTP key as shown for manual entry. */
	manualKey: string;
	/** Last 30-second step whose code was used: the server accepts each step once. */
	lastStep: number;
}

const PEOPLE_FILE = '.data/e2e/people.json';

export async function recallPeople(): Promise<Record<string, E2ePerson>> {
	const { readFile } = await import('node:fs/promises');
	try {
		return JSON.parse(await readFile(PEOPLE_FILE, 'utf8')) as Record<string, E2ePerson>;
	} catch {
		return {};
	}
}

export async function rememberPerson(role: string, person: E2ePerson): Promise<void> {
	const { writeFile } = await import('node:fs/promises');
	await writeFile(PEOPLE_FILE, JSON.stringify({ ...(await recallPeople()), [role]: person }));
}
