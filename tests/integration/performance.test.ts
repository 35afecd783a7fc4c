/**
 * Realised and estimated performance on a real database, from a replay of the real Lending Club
 * holdout (the 2,465 rows `models/train/train.py` kept out of training, listed by
 * `scripts/holdout-rows.py`) with their real labels: scored through the served batch path, the
 * decisions spread over the twelve months of 2024, their outcomes recorded through the outcomes
 * service. The realised figures are checked against a pairwise count written here and against the
 * training report's holdout metrics (sklearn); the estimate against the realised figure.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import Papa from 'papaparse';
import { eq } from 'drizzle-orm';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestSchema, type Manifest, type RawApplicant } from '$inference/manifest';
import { predictions, type NewPrediction } from '$lib/server/db/schema';
import { recordOutcomes } from '$lib/server/services/outcomes.service';
import {
	modelPerformance,
	performanceInput,
	type PerformanceReport
} from '$lib/server/services/performance.service';
import { createCaller } from '$lib/server/trpc/root';
import { apiClient, serviceToken } from '../helpers/api';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';

const MODEL = 'lending-club';
const VERSION = 'xgb-1.0.0';
/**
 * How far the estimate may land from the realised figure on the whole holdout, in units of the
 * realised figure's own standard error (DeLong's for the AUC, the binomial one for a bad rate):
 * a calibrated model with no concept shift lands within two standard errors of it 95 % of the time.
 */
const TOLERANCE_SE = 2;

interface Loan {
	probability: number;
	bad: boolean;
	decision: string;
	createdAt: Date;
}

async function holdout(manifest: Manifest): Promise<{ applicants: RawApplicant[]; bad: boolean[] }> {
	const fixture = JSON.parse(await readFile('tests/fixtures/lending-club-holdout.json', 'utf8')) as {
		rows: number[];
		bad: number[];
	};
	const parsed = Papa.parse<Record<string, string>>(await readFile('models/data/lending_club.csv', 'utf8'), {
		header: true,
		skipEmptyLines: true
	});
	const applicants = fixture.rows.map((index, i) => {
		const row = parsed.data[index]!;
		// The fixture's label is the CSV's own: a wrong row number would fail here.
		expect(row.Class === 'bad' ? 1 : 0).toBe(fixture.bad[i]);
		const applicant: RawApplicant = Object.fromEntries(
			manifest.features.map((f) => {
				const cell = row[f.name];
				if (cell === undefined || cell === '' || cell === 'NA') return [f.name, null];
				return [f.name, f.type === 'numeric' ? Number(cell) : cell];
			})
		);
		return applicant;
	});
	return { applicants, bad: fixture.bad.map((b) => b === 1) };
}

/** Pairwise Mann–Whitney AUC (ties half), O(n²), independent of the production code. */
function pairwiseAuc(loans: readonly Loan[]): number {
	const bads = loans.filter((l) => l.bad).map((l) => l.probability);
	const goods = loans.filter((l) => !l.bad).map((l) => l.probability);
	let wins = 0;
	for (const b of bads) for (const g of goods) wins += b > g ? 1 : b === g ? 0.5 : 0;
	return wins / (bads.length * goods.length);
}

function brier(loans: readonly Loan[]): number {
	return loans.reduce((s, l) => s + (l.probability - (l.bad ? 1 : 0)) ** 2, 0) / loans.length;
}

/** max(TPR − FPR) over every cut-off, counted directly. */
function ks(loans: readonly Loan[]): number {
	const bads = loans.filter((l) => l.bad).length;
	const goods = loans.length - bads;
	let best = 0;
	for (const t of new Set(loans.map((l) => l.probability))) {
		const tpr = loans.filter((l) => l.bad && l.probability >= t).length / bads;
		const fpr = loans.filter((l) => !l.bad && l.probability >= t).length / goods;
		best = Math.max(best, tpr - fpr);
	}
	return best;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

describe.each(testDatabaseKinds())('model performance on %s', (kind) => {
	let testCore: TestCore;
	let manifest: Manifest;
	/** The historical replay: one loan per holdout row, decided in 2024. */
	const loans: Loan[] = [];

	beforeAll(async () => {
		testCore = await startTestCore(kind);
		manifest = manifestSchema.parse(
			JSON.parse(await readFile(`models/${MODEL}/${VERSION}/manifest.json`, 'utf8'))
		);
		const { applicants, bad } = await holdout(manifest);
		const scorer = createCaller(testCore.context('scorer', 'replay'));
		const batch = await scorer.scoring.scoreBatch({ model: MODEL, version: VERSION, applicants });
		expect(batch.summary.rejected).toBe(0);
		const scored = await testCore.core.db
			.select()
			.from(predictions)
			.where(eq(predictions.batchId, batch.batchId));
		const byId = new Map(scored.map((p) => [p.id, p]));

		// The same decisions, as if taken through 2024: month by row, day and hour spread.
		const historical: NewPrediction[] = [];
		const rows: { predictionId: string; defaulted: boolean; observedAt: string }[] = [];
		batch.results.forEach((result, k) => {
			if (!result.ok) throw new Error('a holdout row failed to score');
			const stored = byId.get(result.predictionId)!;
			const createdAt = new Date(Date.UTC(2024, k % 12, 1 + (Math.floor(k / 12) % 28), k % 24, 7));
			const id = randomUUID();
			historical.push({ ...stored, id, createdAt, batchId: null, requestId: `replay-${k}` });
			loans.push({ probability: stored.probability, bad: bad[k]!, decision: stored.decision, createdAt });
			rows.push({
				predictionId: id,
				defaulted: bad[k]!,
				observedAt: day(new Date(createdAt.getTime() + 330 * 86_400_000))
			});
			// The batch's own decisions (today) get their outcome too: too young to count.
			rows.push({ predictionId: stored.id, defaulted: bad[k]!, observedAt: day(new Date()) });
		});
		for (let i = 0; i < historical.length; i += 500)
			await testCore.core.db.insert(predictions).values(historical.slice(i, i + 500));
		const recorder = { kind: 'user', id: 'risk', name: 'Risk', role: 'risk_manager' } as const;
		const recorded = await recordOutcomes(
			testCore.core.db,
			recorder,
			{ outcomes: rows, source: 'api' },
			{ ip: null, requestId: 'replay-outcomes' }
		);
		expect(recorded.counts.recorded).toBe(rows.length);
	}, 120_000);

	afterAll(async () => {
		await testCore?.dispose();
	});

	async function report(input: Record<string, unknown>, now?: Date): Promise<PerformanceReport> {
		return modelPerformance(
			testCore.core.db,
			testCore.core.models,
			performanceInput.parse({ model: MODEL, ...input }),
			{
				maturityMonths: 12,
				now
			}
		);
	}

	it('should replay the real holdout with the model the training report measured', () => {
		expect(loans).toHaveLength(manifest.training.holdoutRows);
		expect(loans.filter((l) => l.bad)).toHaveLength(129);
		// ONNX probabilities are those of the training library to 1e-5, so the figures agree closely.
		expect(pairwiseAuc(loans)).toBeCloseTo(manifest.metrics.holdout.auc, 4);
	});

	it('should give the realised AUC, Gini, KS and Brier of the matured loans, exactly', async () => {
		const answer = await createCaller(testCore.context('risk_manager')).performance.get({
			model: MODEL,
			version: VERSION,
			from: '2024-01-01',
			to: '2024-12-31'
		});
		const version = answer.versions.find((v) => v.version === VERSION)!;
		const realised = version.overall.realised!;
		expect(realised.n).toBe(2465);
		expect(realised.defaults).toBe(129);
		expect(realised.auc!.value).toBeCloseTo(pairwiseAuc(loans), 12);
		expect(realised.gini).toBeCloseTo(2 * pairwiseAuc(loans) - 1, 12);
		expect(realised.brier).toBeCloseTo(brier(loans), 12);
		expect(realised.ks).toBeCloseTo(ks(loans), 12);
		// And against the training report's sklearn figures on the same rows.
		expect(realised.brier).toBeCloseTo(manifest.metrics.holdout.brier, 5);
		expect(realised.ks).toBeCloseTo(manifest.metrics.holdout.ks, 2);
		expect(realised.auc!.lower).toBeLessThan(realised.auc!.value);
		expect(realised.auc!.upper).toBeGreaterThan(realised.auc!.value);
		expect(realised.auc!.standardError).toBeGreaterThan(0.01);
		expect(realised.auc!.standardError).toBeLessThan(0.04);

		// One vintage per month of 2024, each exact on its own loans.
		expect(version.periods.map((p) => p.start.slice(0, 7))).toEqual(
			Array.from({ length: 12 }, (_, m) => `2024-${String(m + 1).padStart(2, '0')}`)
		);
		for (const period of version.periods) {
			const mine = loans.filter(
				(l) => l.createdAt.toISOString() >= period.start && l.createdAt.toISOString() < period.end
			);
			expect(period.predictions).toBe(mine.length);
			expect(period.realised!.n).toBe(mine.length);
			expect(period.realised!.auc!.value).toBeCloseTo(pairwiseAuc(mine), 12);
			expect(period.approvalRate).toBeCloseTo(
				mine.filter((l) => l.decision === 'approve').length / mine.length,
				12
			);
		}
	});

	it('should give approval rate, bad rate of approved loans and calibration tables', async () => {
		const { versions } = await report({ version: VERSION, from: '2024-01-01', to: '2024-12-31' });
		const overall = versions[0]!.overall;
		const approved = loans.filter((l) => l.decision === 'approve');
		expect(overall.approvalRate).toBeCloseTo(approved.length / loans.length, 12);
		expect(overall.realised!.approved).toBe(approved.length);
		expect(overall.realised!.badRateApproved).toBeCloseTo(
			approved.filter((l) => l.bad).length / approved.length,
			12
		);
		const { bands, deciles } = overall.realised!.calibration;
		expect(bands.map((b) => b.group)).toEqual(
			manifest.policy.bands.map((b) => b.name).filter((name) => bands.some((b) => b.group === name))
		);
		expect(bands.reduce((s, b) => s + b.n, 0)).toBe(2465);
		expect(bands.reduce((s, b) => s + b.defaults, 0)).toBe(129);
		expect(deciles).toHaveLength(10);
		expect(deciles.reduce((s, b) => s + b.n, 0)).toBe(2465);
		for (const decile of deciles) {
			const mine = loans.filter(
				(l) => l.probability >= decile.minProbability && l.probability <= decile.maxProbability
			);
			expect(decile.n).toBe(mine.length);
			expect(decile.expected).toBeCloseTo(mine.reduce((s, l) => s + l.probability, 0) / mine.length, 12);
			expect(decile.observed).toBeCloseTo(mine.filter((l) => l.bad).length / mine.length, 12);
		}
	});

	it('should count only loans whose outcome window has matured', async () => {
		const now = new Date('2025-06-15T00:00:00Z');
		const { versions, maturedBefore } = await report({ version: VERSION }, now);
		expect(maturedBefore).toBe('2024-06-15T00:00:00.000Z');
		const periods = versions[0]!.periods;
		const matured = loans.filter((l) => l.createdAt <= new Date(maturedBefore));
		for (const period of periods.filter((p) => p.start < '2025-01-01')) {
			const mine = matured.filter(
				(l) => l.createdAt.toISOString() >= period.start && l.createdAt.toISOString() < period.end
			);
			expect(period.labelled).toBe(mine.length);
			if (mine.length === 0) expect(period.realised).toBeNull();
			else expect(period.realised!.auc?.value).toBeCloseTo(pairwiseAuc(mine), 12);
		}
		expect(periods.find((p) => p.start.startsWith('2024-05'))!.labelled).toBeGreaterThan(0);
		expect(periods.find((p) => p.start.startsWith('2024-07'))!.realised).toBeNull();
		// Today's decisions have outcomes recorded, but count only once the maturity allows it.
		const current = await report({ version: VERSION, from: day(new Date()) });
		expect(current.versions[0]!.overall.predictions).toBe(2465);
		expect(current.versions[0]!.overall.realised).toBeNull();
		const shortened = await report(
			{ version: VERSION, from: day(new Date()), maturityMonths: 0 },
			new Date(Date.now() + 60_000)
		);
		expect(shortened.versions[0]!.overall.labelled).toBe(2465);
	});

	it('should estimate AUC and bad rate of approved loans within the stated tolerance of the realised figures', async () => {
		const { versions } = await report({ version: VERSION, from: '2024-01-01', to: '2024-12-31' });
		const { estimated, realised } = versions[0]!.overall;
		const auc = realised!.auc!;
		expect(Math.abs(estimated.auc! - auc.value)).toBeLessThan(TOLERANCE_SE * auc.standardError!);
		const rate = realised!.badRateApproved!;
		const rateSe = Math.sqrt((rate * (1 - rate)) / realised!.approved);
		expect(Math.abs(estimated.badRateApproved! - rate)).toBeLessThan(TOLERANCE_SE * rateSe);
		// Before any outcome the estimate is there; it is the same figure on the same loans.
		expect(estimated.auc).toBeCloseTo(realised!.expected.auc!, 12);
		console.info(
			`[${kind}] holdout: realised AUC ${auc.value.toFixed(4)} ± ${auc.standardError!.toFixed(4)}, estimated ${estimated.auc!.toFixed(4)}; ` +
				`bad rate approved ${rate.toFixed(4)} ± ${rateSe.toFixed(4)}, estimated ${estimated.badRateApproved!.toFixed(4)}`
		);
	});

	it('should estimate each monthly vintage within its own sampling noise', async () => {
		const { versions } = await report({ version: VERSION, from: '2024-01-01', to: '2024-12-31' });
		const gaps = versions[0]!.periods.map((period) => {
			const auc = period.realised!.auc!;
			return {
				month: period.start.slice(0, 7),
				gap: (period.estimated.auc! - auc.value) / auc.standardError!
			};
		});
		const within = gaps.filter((g) => Math.abs(g.gap) < TOLERANCE_SE).length;
		console.info(
			`[${kind}] vintages: (estimated − realised AUC) / SE = ${gaps.map((g) => g.gap.toFixed(2)).join(', ')}; ${within}/12 within ${TOLERANCE_SE} SE`
		);
		// 95 % of vintages should land within two standard errors; 10 of 12 allows for chance.
		expect(within).toBeGreaterThanOrEqual(10);
	});

	it('should answer the same figures over REST for a risk manager', async () => {
		const token = await serviceToken(testCore.core, 'risk-reports', 'risk_manager');
		const api = apiClient(testCore.core);
		const answer = await api({
			path: `/models/${MODEL}/performance?version=${VERSION}&from=2024-01-01&to=2024-12-31&by=window&window=month&maturityMonths=6`,
			token
		});
		expect(answer.status).toBe(200);
		const json = answer.json as PerformanceReport;
		expect(json.maturityMonths).toBe(6);
		expect(json.versions[0]!.periods).toHaveLength(12);
		expect(json.versions[0]!.overall.realised!.auc!.value).toBeCloseTo(pairwiseAuc(loans), 12);
	});

	it.each([
		['an unknown model', `/models/nope/performance`, 404, null],
		['an unknown version', `/models/${MODEL}/performance?version=xgb-9.9.9`, 404, null],
		['from after to', `/models/${MODEL}/performance?from=2024-05-01&to=2024-04-01`, 400, 'to'],
		['a malformed date', `/models/${MODEL}/performance?from=2024-13-01`, 400, 'from'],
		['a day that does not exist', `/models/${MODEL}/performance?to=2024-02-30`, 400, 'to'],
		['a day before the range', `/models/${MODEL}/performance?from=0000-01-01`, 400, 'from'],
		['a day after the range', `/models/${MODEL}/performance?to=9999-12-31`, 400, 'to'],
		['an unknown grouping', `/models/${MODEL}/performance?by=quarter`, 400, 'by'],
		[
			'a maturity past the configured one',
			`/models/${MODEL}/performance?maturityMonths=13`,
			400,
			'maturityMonths'
		],
		['a negative maturity', `/models/${MODEL}/performance?maturityMonths=-1`, 400, 'maturityMonths'],
		[
			'too many windows',
			`/models/${MODEL}/performance?by=window&window=day&from=2000-01-01&to=2024-01-01`,
			400,
			'from'
		]
	])('should refuse %s with a clear 4xx', async (_label, path, status, field) => {
		const token = await serviceToken(testCore.core, `risk-${randomUUID().slice(0, 8)}`, 'risk_manager');
		const answer = await apiClient(testCore.core)({ path, token });
		expect(answer.status).toBe(status);
		if (field) expect(JSON.stringify(answer.json)).toContain(`"${field}"`);
	});

	it('should not let a viewer or a scoring service read performance', async () => {
		for (const role of ['viewer', 'scorer', 'executive'] as const) {
			await expect(createCaller(testCore.context(role)).performance.get({ model: MODEL })).rejects.toSatisfy(
				(error: unknown) => error instanceof TRPCError && error.code === 'FORBIDDEN'
			);
		}
	});
});
