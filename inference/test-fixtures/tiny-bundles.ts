/**
 * The tiny fixture bundles (`tiny/trees-1.0.0`, `tiny/linear-1.0.0`) as data: manifest, model
 * bytes and golden rows. Golden values come from the brute-force reference and a hand-written
 * encoding of the four features, never from the library under test.
 */
import { createHash } from 'node:crypto';
import type { Feature, GoldenRow, Manifest, RawApplicant } from '../manifest';
import { bruteForceShapley, referenceMargin } from './brute-force-shapley';
import {
	linearOnnx,
	TINY_COLUMNS,
	TINY_GOLDEN_RAW,
	TINY_LINEAR,
	TINY_TREES,
	treeEnsembleOnnx
} from './tiny-models';

export interface TinyBundle {
	/** Folder under `test-fixtures/bundles/`: `tiny/<version>`. */
	path: string;
	manifest: Manifest;
	modelBytes: Uint8Array;
	golden: GoldenRow[];
}

const FEATURE_COLUMNS: Record<string, number[]> = { income: [0], purpose: [1, 2, 3], grade: [4], age: [5] };

/** The fixture encoding, written out by hand (the library's encoder is what is being tested). */
function encodeByHand(raw: RawApplicant): number[] {
	const purpose = raw.purpose;
	const oneHot = (c: string): number =>
		purpose === null || purpose === undefined ? NaN : purpose === c ? 1 : 0;
	const grade = { A: 0, B: 1, C: 2 }[String(raw.grade)] ?? NaN;
	const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
	return [num(raw.income), oneHot('car'), oneHot('home'), oneHot('other'), grade, num(raw.age)];
}

function perFeature(phi: readonly number[]): Record<string, number> {
	return Object.fromEntries(
		Object.entries(FEATURE_COLUMNS).map(([f, cols]) => [f, cols.reduce((s, c) => s + (phi[c] ?? 0), 0)])
	);
}

const sigmoid = (m: number): number => 1 / (1 + Math.exp(-m));

function treeGolden(raw: RawApplicant): GoldenRow {
	const x = encodeByHand(raw);
	const margin = referenceMargin(TINY_TREES, x);
	const { phi, base } = bruteForceShapley(TINY_TREES, x);
	return { raw, probability: sigmoid(margin), margin, baseValue: base, shap: perFeature(phi) };
}

function linearGolden(raw: RawApplicant): GoldenRow {
	const x = encodeByHand(raw);
	const { coef, intercept, means } = TINY_LINEAR;
	const margin = coef.reduce((s, c, j) => s + c * (x[j] ?? NaN), intercept);
	const phi = coef.map((c, j) => c * ((x[j] ?? NaN) - (means[j] ?? 0)));
	const base = coef.reduce((s, c, j) => s + c * (means[j] ?? 0), intercept);
	return { raw, probability: sigmoid(margin), margin, baseValue: base, shap: perFeature(phi) };
}

function features(missing: boolean): Feature[] {
	const reason = (code: string, text: string) => ({ code, text });
	return [
		{
			name: 'income',
			label: 'Annual income',
			description: 'Gross annual income.',
			type: 'numeric',
			unit: 'USD',
			range: { min: 0, max: 1_000_000 },
			integer: false,
			categories: null,
			categoryLabels: null,
			missingAllowed: missing,
			riskDirection: 'decreasing',
			actionable: true,
			change: { direction: 'increase', values: null },
			encoding: { kind: 'passthrough', column: 0 },
			reason: reason('R01', 'Income too low for the amount requested')
		},
		{
			name: 'purpose',
			label: 'Loan purpose',
			description: 'What the loan pays for.',
			type: 'categorical',
			unit: null,
			range: null,
			integer: false,
			categories: ['car', 'home', 'other'],
			categoryLabels: { car: 'Car', home: 'Home', other: 'Other' },
			missingAllowed: missing,
			riskDirection: null,
			actionable: false,
			change: null,
			encoding: { kind: 'one_hot', columns: { car: 1, home: 2, other: 3 } },
			reason: reason('R02', 'Purpose of the loan')
		},
		{
			name: 'grade',
			label: 'Credit grade',
			description: 'Bureau grade.',
			type: 'ordinal',
			unit: null,
			range: null,
			integer: false,
			categories: ['A', 'B', 'C'],
			categoryLabels: null,
			missingAllowed: false,
			riskDirection: 'increasing',
			actionable: false,
			change: null,
			encoding: { kind: 'ordinal', column: 4, codes: { A: 0, B: 1, C: 2 } },
			reason: reason('R03', 'Credit grade')
		},
		{
			name: 'age',
			label: 'Age',
			description: 'Age in years.',
			type: 'numeric',
			unit: 'years',
			range: { min: 18, max: 100 },
			integer: true,
			categories: null,
			categoryLabels: null,
			missingAllowed: false,
			riskDirection: null,
			actionable: false,
			change: null,
			encoding: { kind: 'passthrough', column: 5 },
			reason: reason('R04', 'Length of credit history')
		}
	];
}

function manifest(
	kind: 'tree_ensemble' | 'linear',
	version: string,
	bytes: Uint8Array,
	golden: GoldenRow[]
): Manifest {
	const metrics = {
		auc: 0.7,
		gini: 0.4,
		ks: 0.3,
		brier: 0.1,
		logLoss: 0.3,
		calibration: [{ meanPredicted: 0.2, observedRate: 0.2, count: 10 }]
	};
	const numeric = {
		kind: 'numeric' as const,
		edges: [0, 1],
		proportions: [1],
		missingRate: 0,
		mean: 0,
		quantiles: { p05: 0, p25: 0, p50: 0, p75: 0, p95: 0 }
	};
	return {
		schemaVersion: 1,
		model: {
			id: 'tiny',
			version,
			name: `Tiny ${kind}`,
			description: 'Test fixture.',
			kind,
			framework: 'hand-written',
			createdAt: '2025-01-01T00:00:00Z'
		},
		file: { path: 'model.onnx', sha256: createHash('sha256').update(bytes).digest('hex') },
		input: { name: 'input', columns: TINY_COLUMNS },
		output: { probability: 'probability', margin: 'margin' },
		features: features(kind === 'tree_ensemble'),
		target: { name: 'bad', positive: '1', definition: 'Defaulted within 12 months.' },
		training: {
			dataset: 'none',
			source: 'hand-written',
			rows: 100,
			trainRows: 75,
			holdoutRows: 25,
			positiveRate: 0.2,
			split: 'none',
			seed: 0,
			hyperparameters: {}
		},
		metrics: { holdout: metrics },
		reference: {
			features: {
				income: numeric,
				purpose: {
					kind: 'categorical',
					frequencies: { car: 0.25, home: 0.5, other: 0.25 },
					missingRate: 0.1
				},
				grade: { kind: 'categorical', frequencies: { A: 0.3, B: 0.4, C: 0.3 }, missingRate: 0 },
				age: numeric
			},
			score: { edges: [0, 1], proportions: [1] }
		},
		policy: {
			costMatrix: { missedDefault: 10, refusedGood: 1 },
			cutoffs: { approveBelow: 0.1, declineAtOrAbove: 0.3 },
			expectedCost: {
				perApplicant: 0.5,
				approvalRate: 0.6,
				reviewRate: 0.2,
				declineRate: 0.2,
				badRateAmongApproved: 0.05
			},
			scaling: { basePoints: 600, baseOdds: 50, pdo: 20 },
			bands: [
				{ name: 'A', maxProbability: 0.05, label: 'Very low risk' },
				{ name: 'B', maxProbability: 0.15, label: 'Low risk' },
				{ name: 'C', maxProbability: 0.3, label: 'Medium risk' },
				{ name: 'D', maxProbability: 1, label: 'High risk' }
			]
		},
		explanation: {
			space: 'log_odds',
			baseValue: golden[0]?.baseValue ?? 0,
			columnMeans: kind === 'linear' ? TINY_LINEAR.means : null,
			meanAbsShap: { income: 0.2, purpose: 0.1, grade: 0.3, age: 0.1 }
		},
		golden: { path: 'golden.jsonl', rows: golden.length }
	};
}

/** Both fixture bundles, built from scratch. */
export function buildTinyBundles(): TinyBundle[] {
	const treeBytes = treeEnsembleOnnx(TINY_TREES);
	const treeRows = TINY_GOLDEN_RAW.map(treeGolden);
	const linearBytes = linearOnnx(TINY_LINEAR.coef, TINY_LINEAR.intercept);
	const complete = TINY_GOLDEN_RAW.filter((r) => Object.values(r).every((v) => v !== null));
	const linearRows = complete.map(linearGolden);
	return [
		{
			path: 'tiny/trees-1.0.0',
			manifest: manifest('tree_ensemble', 'trees-1.0.0', treeBytes, treeRows),
			modelBytes: treeBytes,
			golden: treeRows
		},
		{
			path: 'tiny/linear-1.0.0',
			manifest: manifest('linear', 'linear-1.0.0', linearBytes, linearRows),
			modelBytes: linearBytes,
			golden: linearRows
		}
	];
}
