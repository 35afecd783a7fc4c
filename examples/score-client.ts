/**
 * A typed Credible client for internal TypeScript services: copy this file, keep the `AppRouter`
 * type import pointing at Credible's router (or a published types package), and call procedures
 * with full types for inputs and outputs.
 *
 * It gets an access token with the OAuth client-credentials grant, renews it before it expires,
 * batches concurrent calls into one HTTP request (`httpBatchLink`), and retries once after a 503
 * (overload or database outage) as the server's Retry-After asks.
 *
 *   CREDIBLE_URL=http://localhost:3000 CREDIBLE_CLIENT_ID=svc_… CREDIBLE_CLIENT_SECRET=… \
 *     npx tsx examples/score-client.ts
 */
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../src/lib/server/trpc/root';

export interface CredibleClientOptions {
	/** Base URL of Credible, e.g. `https://credible.internal`. */
	url: string;
	clientId: string;
	clientSecret: string;
	/** Renew the token this many seconds before it expires. */
	renewBeforeSeconds?: number;
	fetch?: typeof fetch;
}

interface Token {
	value: string;
	expiresAt: number;
}

/** Creates a client whose calls carry a fresh bearer token. */
export function createCredibleClient(options: CredibleClientOptions) {
	const doFetch = options.fetch ?? fetch;
	let token: Token | undefined;
	let pending: Promise<Token> | undefined;

	async function requestToken(): Promise<Token> {
		const response = await doFetch(`${options.url}/api/v1/oauth/token`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'client_credentials',
				client_id: options.clientId,
				client_secret: options.clientSecret
			})
		});
		const body = (await response.json()) as { access_token?: string; expires_in?: number; error?: string };
		if (!response.ok || !body.access_token) {
			throw new Error(`Credible refused the credentials: ${body.error ?? response.status}`);
		}
		const renewBefore = options.renewBeforeSeconds ?? 60;
		return {
			value: body.access_token,
			expiresAt: Date.now() + ((body.expires_in ?? 300) - renewBefore) * 1000
		};
	}

	async function accessToken(): Promise<string> {
		if (token && token.expiresAt > Date.now()) return token.value;
		// One renewal at a time, however many calls are waiting.
		pending ??= requestToken().finally(() => (pending = undefined));
		token = await pending;
		return token.value;
	}

	return createTRPCClient<AppRouter>({
		links: [
			httpBatchLink({
				url: `${options.url}/trpc`,
				headers: async () => ({ authorization: `Bearer ${await accessToken()}` }),
				fetch: async (input, init) => {
					const response = await doFetch(input, init);
					if (response.status !== 503) return response;
					// Overloaded or the database is down: nothing was recorded, so one retry is safe.
					const wait = Number(response.headers.get('retry-after') ?? 1);
					await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 10) * 1000));
					return doFetch(input, init);
				}
			})
		]
	});
}

/** Field-level validation messages of a failed call, keyed by field path (`applicant.annual_inc`). */
export function fieldErrorsOf(error: unknown): Record<string, string[]> | undefined {
	if (!(error instanceof TRPCClientError)) return undefined;
	return (error.data as { fieldErrors?: Record<string, string[]> } | undefined)?.fieldErrors;
}

async function main(): Promise<void> {
	const { CREDIBLE_URL, CREDIBLE_CLIENT_ID, CREDIBLE_CLIENT_SECRET } = process.env;
	if (!CREDIBLE_URL || !CREDIBLE_CLIENT_ID || !CREDIBLE_CLIENT_SECRET) {
		console.error('Set CREDIBLE_URL, CREDIBLE_CLIENT_ID and CREDIBLE_CLIENT_SECRET.');
		process.exit(2);
	}
	const credible = createCredibleClient({
		url: CREDIBLE_URL,
		clientId: CREDIBLE_CLIENT_ID,
		clientSecret: CREDIBLE_CLIENT_SECRET
	});
	const model = await credible.models.info.query({ model: 'lending-club' });
	console.log(`${model.name} (${model.version}): ${model.features.length} features`);

	const decision = await credible.scoring.score.mutate({
		model: 'lending-club',
		// The loan origination system's own id makes retries safe: the same id returns the same decision.
		requestId: `example-${Date.now()}`,
		applicant: {
			funded_amnt: 12_000,
			term: 'term_36',
			int_rate: 11.5,
			sub_grade: 'B4',
			verification_status: 'Verified',
			annual_inc: 68_000,
			emp_length: 'emp_5',
			delinq_2yrs: 0,
			inq_last_6mths: 1,
			revol_util: 41.2,
			acc_now_delinq: 0,
			open_il_6m: 1,
			open_il_12m: 0,
			open_il_24m: 1,
			total_bal_il: 15_400,
			all_util: 55,
			inq_fi: 0,
			inq_last_12m: 1,
			delinq_amnt: 0,
			num_il_tl: 4,
			total_il_high_credit_limit: 30_000
		}
	});
	console.log(
		`decision ${decision.decision}, P(default) ${(decision.probability * 100).toFixed(2)} %, ${decision.points} points, band ${decision.band.name}`
	);
	for (const reason of decision.reasons) console.log(`  ${reason.code}: ${reason.text}`);

	try {
		await credible.scoring.score.mutate({ model: 'lending-club', applicant: { funded_amnt: -1 } });
	} catch (error) {
		console.log('rejected as expected:', Object.keys(fieldErrorsOf(error) ?? {}).join(', '));
	}
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
