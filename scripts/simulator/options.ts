/** The simulator's command-line options: parsing and field-level checks (`npm run simulate`). */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { SimulationConfig } from './index';
import { modelsWithHoldout, versionsOf } from './rows';

export const USAGE = `Usage: npm run simulate -- --model M --rate R --duration S [options]

  --model M            a shipped model with a holdout list (${modelsWithHoldout().join(', ')})
  --version V          a shipped version of it (default: the registry's champion)
  --rate R             applicants per second (up to 100000)
  --duration S         seconds of traffic: R × S applicants are sent
  --rows N             send exactly N applicants instead of R × S
  --shift SPEC         repeatable: feature:*k, feature:+k, feature:-k, feature:=value, each
                       optionally followed by @share (0 < share <= 1) to shift only that share
  --outcomes           report each scored row's real outcome afterwards (POST /outcomes)
  --performance        then read realised performance of the run's decision days with the
                       outcome maturity shortened to 0 months (a risk_manager or admin account)
  --observed-at DAY    the outcomes' observedAt, YYYY-MM-DD (default: today, UTC)
  --seed N             seed of the replay order and of partial shifts (default 1)
  --concurrency N      requests in flight at most (default 32)
  --batch N            applicants per request: 1 uses /score, more /score/batch (default 1)
  --url URL            the server (default CREDIBLE_URL or http://127.0.0.1:3000)
  --client-id ID       service account (default CREDIBLE_CLIENT_ID)
  --client-secret S    its secret (default CREDIBLE_CLIENT_SECRET)
`;

const whole = (name: string, min: number, max: number) =>
	z.coerce
		.number({ error: `${name} must be a number` })
		.int(`${name} must be a whole number`)
		.min(min, `${name} must be at least ${min}`)
		.max(max, `${name} must be at most ${max}`);

const optionsSchema = z
	.object({
		model: z.string({ error: 'is required' }).refine((model) => modelsWithHoldout().includes(model), {
			error: (issue) => `unknown model "${String(issue.input)}" (known: ${modelsWithHoldout().join(', ')})`
		}),
		version: z.string().optional(),
		rate: z.coerce
			.number({ error: 'is required: applicants per second' })
			.refine(
				(n) => Number.isFinite(n) && n > 0 && n <= 100_000,
				'must be a number above 0 and at most 100000'
			),
		duration: z.coerce
			.number({ error: 'is required: seconds of traffic' })
			.refine(
				(n) => Number.isFinite(n) && n > 0 && n <= 86_400,
				'must be a number of seconds above 0 and at most 86400'
			),
		rows: whole('rows', 1, 10_000_000).optional(),
		shift: z.array(z.string()).default([]),
		outcomes: z.boolean().default(false),
		performance: z.boolean().default(false),
		'observed-at': z
			.string()
			.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day, YYYY-MM-DD')
			.refine((day) => !Number.isNaN(Date.parse(`${day}T00:00:00Z`)), 'is not a calendar day')
			.optional(),
		seed: whole('seed', 0, 2 ** 31 - 1).default(1),
		concurrency: whole('concurrency', 1, 1024).default(32),
		batch: whole('batch', 1, 10_000).default(1),
		url: z.url('must be an http(s) URL').default(process.env.CREDIBLE_URL ?? 'http://127.0.0.1:3000'),
		'client-id': z
			.string({ error: 'is required (or set CREDIBLE_CLIENT_ID)' })
			.min(1, 'is required (or set CREDIBLE_CLIENT_ID)'),
		'client-secret': z
			.string({ error: 'is required (or set CREDIBLE_CLIENT_SECRET)' })
			.min(1, 'is required (or set CREDIBLE_CLIENT_SECRET)')
	})
	.superRefine((o, context) => {
		const versions = versionsOf(o.model) ?? [];
		if (o.version !== undefined && versions.length > 0 && !versions.includes(o.version))
			context.addIssue({
				code: 'custom',
				path: ['version'],
				message: `${o.model} has no version "${o.version}" (shipped: ${versions.join(', ')})`
			});
	});

/** Parses and checks the command line; a list of `--option: problem` lines when it is wrong. */
export function parseCommandLine(
	argv: string[],
	env: NodeJS.ProcessEnv = process.env
): { config: SimulationConfig; url: string } | { errors: string[] } {
	let values: Record<string, unknown>;
	try {
		const parsed = parseArgs({
			args: argv,
			strict: true,
			allowPositionals: false,
			options: {
				model: { type: 'string' },
				version: { type: 'string' },
				rate: { type: 'string' },
				duration: { type: 'string' },
				rows: { type: 'string' },
				shift: { type: 'string', multiple: true },
				outcomes: { type: 'boolean' },
				performance: { type: 'boolean' },
				'observed-at': { type: 'string' },
				seed: { type: 'string' },
				concurrency: { type: 'string' },
				batch: { type: 'string' },
				url: { type: 'string' },
				'client-id': { type: 'string' },
				'client-secret': { type: 'string' }
			}
		});
		values = { ...parsed.values };
	} catch (error) {
		return { errors: [error instanceof Error ? error.message : String(error)] };
	}
	values['client-id'] ??= env.CREDIBLE_CLIENT_ID;
	values['client-secret'] ??= env.CREDIBLE_CLIENT_SECRET;
	const result = optionsSchema.safeParse(values);
	if (!result.success)
		return { errors: result.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`) };
	const o = result.data;
	return {
		url: o.url,
		config: {
			model: o.model,
			version: o.version,
			rate: o.rate,
			duration: o.duration,
			rows: o.rows,
			shifts: o.shift,
			outcomes: o.outcomes,
			performance: o.performance,
			observedAt: o['observed-at'],
			seed: o.seed,
			concurrency: o.concurrency,
			batchSize: o.batch,
			credentials: { clientId: o['client-id'], clientSecret: o['client-secret'] }
		}
	};
}
