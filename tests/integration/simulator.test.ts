/**
 * The traffic simulator (`npm run simulate`, scripts/simulator/) against the real API handler of
 * a real core, as a real service account: a known shift of annual_inc in one hour is flagged on
 * that feature, with severity `act`, and on no other feature; with no shift, the drift of many
 * hour-long windows of held-out rows is counted for false alarms (the rate is printed and bounded);
 * `--outcomes` records each scored row's real label; the sender keeps to its rate; the command
 * line's bad options are named.
 */
import { readFileSync } from 'node:fs';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { outcomes } from '$lib/server/db/schema';
import type { DriftView } from '$lib/server/services/drift.service';
import { createCaller } from '$lib/server/trpc/root';
import {
	simulate,
	prepare,
	type SimulationConfig,
	type SimulationResult
} from '../../scripts/simulator/index';
import { parseCommandLine } from '../../scripts/simulator/options';
import { loadHoldout } from '../../scripts/simulator/rows';
import { parseShift, ShiftError } from '../../scripts/simulator/shift';
import type { Transport } from '../../scripts/simulator/traffic';
import { apiClient } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';

const model = 'lending-club';
const version = 'xgb-1.0.0';
/** The known shift: incomes 30 % lower. */
const SHIFT = 'annual_inc:*0.7';
/** Rows per hour-long window, in both drift checks. */
const WINDOW_ROWS = 1000;
/** Unshifted windows counted for false alarms. */
const CALM_WINDOWS = 24;
/**
 * The false-alarm bound: at most 2 % of (window, feature) pairs may come out `watch` or `act`
 * with no shift. With 1,000 rows a window the PSI of a stable feature is about (bins − 1) / 1000
 * plus the holdout's own distance from the training reference, well under the watch band (0.1)
 * for every feature; sub_grade, with 35 categories, is the nearest (~0.05). With 200 rows a
 * window sub_grade alone would exceed the bound.
 */
const FALSE_ALARM_BOUND = 0.02;
const admin = { kind: 'user', id: 'test-admin', name: 'Test admin', role: 'admin' } as const;

const holdoutFixture = JSON.parse(readFileSync('tests/fixtures/lending-club-holdout.json', 'utf8')) as {
	rows: number[];
	bad: number[];
};

describe('simulator options', () => {
	const manifest = loadHoldout(model).manifest;
	const valid = [
		'--model',
		model,
		'--rate',
		'200',
		'--duration',
		'60',
		'--client-id',
		'c',
		'--client-secret',
		's'
	];

	it('should parse numeric and categorical shifts, with a share', () => {
		expect(parseShift('annual_inc:*0.7', manifest)).toMatchObject({
			feature: 'annual_inc',
			operation: 'multiply',
			value: 0.7,
			share: 1
		});
		expect(parseShift('funded_amnt:-500', manifest)).toMatchObject({ operation: 'add', value: -500 });
		expect(parseShift('term:=term_60@0.3', manifest)).toMatchObject({
			operation: 'set',
			value: 'term_60',
			share: 0.3
		});
	});

	it('should name what is wrong in a bad shift', () => {
		const problem = (text: string) => {
			try {
				parseShift(text, manifest);
			} catch (error) {
				expect(error).toBeInstanceOf(ShiftError);
				return (error as Error).message;
			}
			throw new Error(`${text} was accepted`);
		};
		expect(problem('annual_income:*0.7')).toMatch(/unknown feature "annual_income" for lending-club/);
		expect(problem('annual_inc*0.7')).toMatch(/expected feature:\*k/);
		expect(problem('annual_inc:/2')).toMatch(/expected feature:\*k/);
		expect(problem('annual_inc:*abc')).toMatch(/"abc" is not a number/);
		expect(problem('term:*2')).toMatch(/term is categorical: only =value applies/);
		expect(problem('term:=term_99')).toMatch(/"term_99" is not a category of term/);
		expect(problem('funded_amnt:=50')).toMatch(/between 1000 and 40000/);
		expect(problem('term:=term_60@1.5')).toMatch(/share after @/);
	});

	it('should read only held-out rows, with the labels of the holdout list, for every shipped model', () => {
		for (const [name, rows, bad] of [
			['lending-club', 2465, 129],
			['consumer-credit', 1114, 314]
		] as const) {
			const holdout = loadHoldout(name);
			const fixture = JSON.parse(readFileSync(`tests/fixtures/${name}-holdout.json`, 'utf8')) as {
				rows: number[];
			};
			expect(holdout.rows).toHaveLength(holdout.manifest.training.holdoutRows);
			expect(holdout.rows.map((r) => r.row)).toEqual(fixture.rows);
			expect([holdout.rows.length, holdout.rows.filter((r) => r.bad).length]).toEqual([rows, bad]);
		}
	});

	it('should check every option and name each bad one', () => {
		expect('config' in parseCommandLine(valid, {})).toBe(true);
		const errors = (argv: string[]) => {
			const parsed = parseCommandLine(argv, {});
			return 'errors' in parsed ? parsed.errors : [];
		};
		expect(errors(['--model', 'nope', '--rate', '0', '--duration', '60'])).toEqual([
			expect.stringMatching(/^--model: unknown model "nope" \(known: lending-club, consumer-credit\)/),
			'--rate: must be a number above 0 and at most 100000',
			'--client-id: is required (or set CREDIBLE_CLIENT_ID)',
			'--client-secret: is required (or set CREDIBLE_CLIENT_SECRET)'
		]);
		expect(errors([...valid, '--version', 'xgb-9'])).toEqual([
			'--version: lending-club has no version "xgb-9" (shipped: xgb-1.0.0, scorecard-1.0.0)'
		]);
		expect(errors([...valid, '--batch', '1.5', '--observed-at', '2026-13-45'])).toEqual([
			'--observed-at: is not a calendar day',
			'--batch: batch must be a whole number'
		]);
		expect(errors([...valid, '--speed', '3'])[0]).toMatch(/Unknown option '--speed'/);
		// Credentials may come from the environment.
		const fromEnv = parseCommandLine(valid.slice(0, 6), {
			CREDIBLE_CLIENT_ID: 'c',
			CREDIBLE_CLIENT_SECRET: 's'
		});
		expect('config' in fromEnv && fromEnv.config.credentials).toEqual({ clientId: 'c', clientSecret: 's' });
	});
});

describe.each(testDatabaseKinds())('traffic simulator on %s', (kind) => {
	let t: TestCore;
	let transport: Transport;
	let credentials: SimulationConfig['credentials'];
	/** A risk manager's service account: it may also read performance. */
	let riskCredentials: SimulationConfig['credentials'];

	const config = (overrides: Partial<SimulationConfig>): SimulationConfig => ({
		model,
		rate: 100_000,
		duration: 1,
		shifts: [],
		outcomes: false,
		seed: 1,
		concurrency: 8,
		batchSize: 1,
		credentials,
		...overrides
	});

	/** Runs the simulator with the clock at `hour` + 5 min, so that its predictions land in that hour. */
	async function simulateAt(hour: string, overrides: Partial<SimulationConfig>): Promise<SimulationResult> {
		vi.useFakeTimers({ toFake: ['Date'], now: new Date(hour).getTime() + 5 * 60_000 });
		try {
			const c = config(overrides);
			return await simulate(c, transport, prepare(c));
		} finally {
			vi.useRealTimers();
		}
	}

	const driftOf = (hour: string): Promise<DriftView> =>
		createCaller(t.context('risk_manager')).drift.get({
			model,
			version,
			from: hour,
			to: new Date(new Date(hour).getTime() + 3_600_000).toISOString()
		});

	beforeAll(async () => {
		// The limiter counts per second of the clock the test holds still; it is tested elsewhere.
		t = await startTestCore(kind, { RATE_LIMIT_PER_SECOND: '1000000' });
		const call = apiClient(t.core);
		transport = async (request) => {
			const answer = await call({ ...request, body: request.body ?? undefined });
			return { status: answer.status, headers: answer.headers, body: String(answer.body) };
		};
		const account = await t.core.auth.serviceAccounts.create(admin, { name: 'simulator', role: 'scorer' });
		credentials = { clientId: account.clientId, clientSecret: account.clientSecret };
		const risk = await t.core.auth.serviceAccounts.create(admin, {
			name: 'simulator-risk',
			role: 'risk_manager'
		});
		riskCredentials = { clientId: risk.clientId, clientSecret: risk.clientSecret };
	}, 60_000);
	afterAll(async () => {
		await t?.dispose();
	});

	it('should flag a known income shift on annual_inc alone, as act, within one window', async () => {
		const hour = '2026-03-02T10:00:00.000Z';
		const result = await simulateAt(hour, { rows: WINDOW_ROWS, shifts: [SHIFT] });
		expect(result.traffic).toMatchObject({
			sent: WINDOW_ROWS,
			ok: WINDOW_ROWS,
			statuses: { '200': WINDOW_ROWS }
		});
		expect(result.shiftCounts[SHIFT]).toEqual({ shifted: WINDOW_ROWS, clamped: 0 });

		const view = await driftOf(hour);
		expect(view.count).toBe(WINDOW_ROWS);
		const flagged = view.features.filter((f) => f.severity === 'watch' || f.severity === 'act');
		const income = view.features.find((f) => f.feature === 'annual_inc')!;
		console.info(
			`[${kind}] ${SHIFT} over ${WINDOW_ROWS} rows: annual_inc PSI ${income.psi.toFixed(4)} (${income.severity}); ` +
				`largest other PSI ${Math.max(...view.features.filter((f) => f.feature !== 'annual_inc').map((f) => f.psi)).toFixed(4)}; ` +
				`score PSI ${view.score.psi.toFixed(4)} (${view.score.severity})`
		);
		// The PSI the shift should give, counted here from the rows sent and the reference's bins:
		// that figure, not a guess, sets the expected severity.
		const reference = loadHoldout(model).manifest.reference.features.annual_inc;
		if (reference?.kind !== 'numeric') throw new Error('annual_inc has no numeric reference');
		const { edges, proportions } = reference;
		const counts = proportions.map(() => 0);
		for (const s of result.traffic.scored) {
			const value = (s.item.applicant.annual_inc as number) * 0.7;
			let bin = edges.findIndex((edge, i) => i > 0 && value < edge) - 1;
			if (bin < 0) bin = value < edges[0]! ? 0 : proportions.length - 1;
			counts[bin]!++;
		}
		const floor = (share: number) => Math.max(share, 1e-4);
		const expected = proportions.reduce((sum, e, i) => {
			const a = counts[i]! / WINDOW_ROWS;
			return sum + (floor(a) - floor(e)) * Math.log(floor(a) / floor(e));
		}, 0);
		expect(income.psi).toBeCloseTo(expected, 9);
		expect(expected).toBeGreaterThanOrEqual(view.bands.act);
		expect(income.severity).toBe('act');
		expect(income.psi).toBeGreaterThanOrEqual(view.bands.act);
		expect(flagged.map((f) => f.feature)).toEqual(['annual_inc']);
	}, 60_000);

	it('should raise few false alarms over many unshifted windows', async () => {
		const start = Date.parse('2026-04-01T00:00:00.000Z');
		let alarms = 0;
		let pairs = 0;
		const byFeature = new Map<string, number>();
		let scoreAlarms = 0;
		let largest = { psi: 0, feature: '' };
		for (let w = 0; w < CALM_WINDOWS; w++) {
			const hour = new Date(start + w * 3_600_000).toISOString();
			// A different seed a window: a different 1,000 of the 2,465 held-out rows, in a new order.
			const result = await simulateAt(hour, { rows: WINDOW_ROWS, seed: 100 + w, batchSize: 250 });
			expect(result.traffic.ok).toBe(WINDOW_ROWS);
			const view = await driftOf(hour);
			expect(view.count).toBe(WINDOW_ROWS);
			for (const f of view.features) {
				pairs++;
				if (f.psi > largest.psi) largest = { psi: f.psi, feature: f.feature };
				if (f.severity === 'watch' || f.severity === 'act') {
					alarms++;
					byFeature.set(f.feature, (byFeature.get(f.feature) ?? 0) + 1);
				}
			}
			if (view.score.severity !== 'stable') scoreAlarms++;
		}
		const rate = alarms / pairs;
		console.info(
			`[${kind}] no shift, ${CALM_WINDOWS} windows × ${pairs / CALM_WINDOWS} features of ${WINDOW_ROWS} held-out rows: ` +
				`${alarms} watch/act of ${pairs} = false-alarm rate ${(100 * rate).toFixed(2)} % ` +
				`(${JSON.stringify(Object.fromEntries(byFeature))}); largest PSI ${largest.psi.toFixed(4)} (${largest.feature}); ` +
				`score watch/act in ${scoreAlarms} of ${CALM_WINDOWS} windows`
		);
		expect(pairs).toBe(CALM_WINDOWS * 21);
		expect(rate).toBeLessThanOrEqual(FALSE_ALARM_BOUND);
	}, 120_000);

	it('should report each scored row with its real label, and keep to its rate', async () => {
		const hour = '2026-05-01T10:00:00.000Z';
		const rows = 150;
		const rate = 300;
		const result = await simulateAt(hour, {
			rows,
			rate,
			outcomes: true,
			performance: true,
			observedAt: '2026-05-01',
			seed: 7,
			credentials: riskCredentials
		});
		expect(result.traffic.ok).toBe(rows);
		// Applicant i leaves at i / rate s: the run cannot be shorter than (rows − 1) / rate.
		expect(result.traffic.elapsedSeconds).toBeGreaterThanOrEqual((rows - 1) / rate);
		expect(result.traffic.achievedRate).toBeLessThanOrEqual(rate * 1.02);
		expect(result.outcomes).toMatchObject({ recorded: rows, rejected: 0, calls: 1 });

		// Only held-out rows, each with its label from the holdout list.
		const labels = new Map(holdoutFixture.rows.map((row, i) => [row, holdoutFixture.bad[i] === 1]));
		for (const s of result.traffic.scored) expect(labels.get(s.item.row)).toBe(s.item.bad);
		const stored = await t.core.db
			.select()
			.from(outcomes)
			.where(and(eq(outcomes.modelId, model), eq(outcomes.observedAt, '2026-05-01')));
		expect(stored).toHaveLength(rows);
		const defaulted = new Map(stored.map((o) => [o.predictionId, o.defaulted]));
		for (const s of result.traffic.scored) expect(defaulted.get(s.predictionId)).toBe(s.item.bad);
		expect(stored.filter((o) => o.defaulted)).toHaveLength(result.scoredBad);

		// With the maturity shortened to 0 months, realised performance counts them at once.
		const report = await createCaller(t.context('risk_manager')).performance.get({
			model,
			version,
			from: '2026-05-01',
			to: '2026-05-01',
			maturityMonths: 0
		});
		const overall = report.versions[0]!.overall;
		expect(overall).toMatchObject({ predictions: rows, matured: rows, labelled: rows });
		expect(overall.realised?.defaults).toBe(
			stored.filter((o) => o.defaulted && defaulted.has(o.predictionId)).length
		);
	}, 60_000);
});
