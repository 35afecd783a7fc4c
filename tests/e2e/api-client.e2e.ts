/**
 * Internal services' path, over real HTTP against the production build: the typed client of
 * examples/score-client.ts exchanges a service account's credentials for a token and calls the
 * tRPC procedures at /trpc with it. The service account is created by the CLI before the server
 * starts (see playwright.config.ts).
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { createCredibleClient, fieldErrorsOf } from '../../examples/score-client';
import { E2E_SERVICE_ACCOUNT_FILE } from './first-admin';

interface CreatedAccount {
	clientId: string;
	clientSecret: string;
}

const golden = readFileSync('models/lending-club/xgb-1.0.0/golden.jsonl', 'utf8').trim().split('\n');
const applicant = (JSON.parse(golden[0] ?? '{}') as { raw: Record<string, number | string | null> }).raw;

test.describe('the typed tRPC client over HTTP', () => {
	test('should score with a bearer token, name bad fields, and refuse a wrong token', async ({
		baseURL
	}, testInfo) => {
		test.skip(testInfo.project.name !== 'desktop', 'an API test: runs once');
		const account = JSON.parse(readFileSync(E2E_SERVICE_ACCOUNT_FILE, 'utf8')) as CreatedAccount;
		const credible = createCredibleClient({ url: baseURL ?? '', ...account });

		const model = await credible.models.info.query({ model: 'lending-club' });
		expect(model.features.map((feature) => feature.name)).toEqual(Object.keys(applicant));

		const decision = await credible.scoring.score.mutate({ model: 'lending-club', applicant, explain: true });
		expect(decision.model).toEqual({ id: 'lending-club', version: 'xgb-1.0.0' });
		expect(decision.probability).toBeGreaterThan(0);
		expect(['approve', 'review', 'decline']).toContain(decision.decision);
		expect(decision.explanation?.contributions).toHaveLength(model.features.length);

		const error = await credible.scoring.score
			.mutate({ model: 'lending-club', applicant: { ...applicant, funded_amnt: -1 } })
			.catch((caught: unknown) => caught);
		expect(Object.keys(fieldErrorsOf(error) ?? {})).toEqual(['applicant.funded_amnt']);

		const refused = await fetch(`${baseURL}/trpc/scoring.score`, {
			method: 'POST',
			headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json' },
			body: JSON.stringify({ model: 'lending-club', applicant })
		});
		expect(refused.status).toBe(401);
		expect(await refused.text()).not.toMatch(/\bat .+:\d+:\d+/);
	});
});
