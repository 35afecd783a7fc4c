/**
 * The traffic simulator (`npm run simulate`): replays held-out rows of a shipped model through the
 * scoring API as a service account, with controlled shifts of chosen features, and reports their
 * real outcomes afterwards. `scripts/simulate.ts` is its command line; the tests call `simulate`
 * with the in-process API handler as transport.
 */
import type { RawApplicant } from '../../inference/manifest';
import { loadHoldout, shuffled, type HeldOutRow, type Holdout } from './rows';
import { parseShifts, shifter, type Shift, type ShiftCounts } from './shift';
import {
	readPerformance,
	reportOutcomes,
	sendTraffic,
	TokenSource,
	type Credentials,
	type OutcomeCounts,
	type PerformanceReadout,
	type TrafficSummary,
	type Transport
} from './traffic';

export interface SimulationConfig {
	model: string;
	/** A shipped version of the model (default its champion); also sent with every request. */
	version?: string;
	/** Applicants per second. */
	rate: number;
	/** Seconds of traffic: rate × duration applicants are sent (unless `rows` is given). */
	duration: number;
	/** Send exactly this many applicants instead of rate × duration. */
	rows?: number;
	/** `--shift` texts, parsed against the model's manifest. */
	shifts: readonly string[];
	/** Report the real outcome of every scored row once the traffic is done. */
	outcomes: boolean;
	/** The UTC day the outcomes are observed, `YYYY-MM-DD` (default today). */
	observedAt?: string;
	/**
	 * After the outcomes, read realised performance of the run's decision days with the maturity
	 * shortened to 0 months (needs a risk_manager or admin account).
	 */
	performance?: boolean;
	/** Seed of the replay order and of partial shifts. */
	seed: number;
	concurrency: number;
	batchSize: number;
	credentials: Credentials;
	/** Repository root holding models/ and tests/fixtures/ (default the working directory). */
	root?: string;
}

export interface SimulationResult {
	model: string;
	version: string;
	holdoutRows: number;
	shifts: Shift[];
	shiftCounts: ShiftCounts;
	traffic: TrafficSummary<HeldOutRow>;
	/** Of the scored rows, how many are bad by their real label. */
	scoredBad: number;
	meanProbability: number | null;
	outcomes: OutcomeCounts | null;
	performance: PerformanceReadout | null;
}

/**
 * The held-out rows in a seeded order, again in a new order once all were sent: `count`
 * applicants, each with the row it came from, shifted.
 */
export function* replay(
	holdout: Holdout,
	count: number,
	seed: number,
	apply: (applicant: RawApplicant) => RawApplicant
): Generator<{ applicant: RawApplicant; item: HeldOutRow }> {
	let sent = 0;
	for (let cycle = 0; sent < count; cycle++) {
		for (const row of shuffled(holdout.rows, seed + cycle)) {
			if (sent++ >= count) return;
			yield { applicant: apply(row.applicant), item: row };
		}
	}
}

/** Checks the configuration against the model (throws `ShiftError` for a bad shift), then runs it. */
export function prepare(config: SimulationConfig): { holdout: Holdout; shifts: Shift[] } {
	const holdout = loadHoldout(config.model, config.version, config.root);
	return { holdout, shifts: parseShifts(config.shifts, holdout.manifest) };
}

export async function simulate(
	config: SimulationConfig,
	transport: Transport,
	prepared = prepare(config),
	onProgress?: (traffic: TrafficSummary<HeldOutRow>) => void
): Promise<SimulationResult> {
	const { holdout, shifts } = prepared;
	const shift = shifter(shifts, holdout.manifest, config.seed);
	const tokens = new TokenSource(transport, config.credentials);
	await tokens.token();
	const firstDay = new Date().toISOString().slice(0, 10);
	const count = config.rows ?? Math.max(1, Math.round(config.rate * config.duration));
	const traffic = await sendTraffic({
		transport,
		tokens,
		model: config.model,
		version: config.version,
		rows: replay(holdout, count, config.seed, shift.apply),
		rate: config.rate,
		concurrency: config.concurrency,
		batchSize: config.batchSize,
		onProgress
	});
	const outcomes = config.outcomes
		? await reportOutcomes(
				transport,
				tokens,
				traffic.scored.map((s) => ({ predictionId: s.predictionId, defaulted: s.item.bad })),
				config.observedAt
			)
		: null;
	const performance = config.performance
		? await readPerformance(
				transport,
				tokens,
				config.model,
				holdout.version,
				firstDay,
				new Date().toISOString().slice(0, 10)
			)
		: null;
	const n = traffic.scored.length;
	return {
		model: config.model,
		version: holdout.version,
		holdoutRows: holdout.rows.length,
		shifts,
		shiftCounts: shift.counts,
		traffic,
		scoredBad: traffic.scored.filter((s) => s.item.bad).length,
		meanProbability: n === 0 ? null : traffic.scored.reduce((sum, s) => sum + s.probability, 0) / n,
		outcomes,
		performance
	};
}

/** The summary the command line prints. */
export function formatSummary(result: SimulationResult, config: Pick<SimulationConfig, 'rate'>): string {
	const t = result.traffic;
	const lines = [
		`model          ${result.model} ${result.version} (${result.holdoutRows} held-out rows)`,
		`shifts         ${
			result.shifts.length === 0
				? 'none'
				: result.shifts
						.map((s) => {
							const c = result.shiftCounts[s.text]!;
							return `${s.text} (${c.shifted} rows${c.clamped ? `, ${c.clamped} held at the range's edge` : ''})`;
						})
						.join('; ')
		}`,
		`sent           ${t.sent} applicants in ${t.requests} requests`,
		`ok             ${t.ok}`,
		`statuses       ${Object.entries(t.statuses)
			.sort(([a], [b]) => a.localeCompare(b))
			.map(([status, n]) => `${status}: ${n}`)
			.join(', ')}`,
		...Object.entries(t.examples).map(([status, body]) => `  ${status} e.g.   ${body}`),
		`rate           ${t.achievedRate.toFixed(1)} applicants/s achieved (target ${config.rate}) over ${t.elapsedSeconds.toFixed(1)} s`,
		`scored         ${result.scoredBad} bad by their real label of ${t.ok}; mean probability ${
			result.meanProbability === null ? '–' : result.meanProbability.toFixed(4)
		}`
	];
	if (result.outcomes) {
		const o = result.outcomes;
		const failed = Object.entries(o.failedCalls);
		lines.push(
			`outcomes       ${o.recorded} recorded, ${o.corrected} corrected, ${o.unchanged} unchanged, ${o.rejected} rejected in ${o.calls} calls` +
				(failed.length ? `; failed calls: ${failed.map(([s, n]) => `${s}: ${n}`).join(', ')}` : '')
		);
	}
	const p = result.performance;
	if (p) {
		const days = p.from === p.to ? p.from : `${p.from}..${p.to}`;
		if (p.status !== 200) lines.push(`performance    ${days}: answered ${p.status} ${p.error ?? ''}`);
		else {
			const auc = p.realisedAuc
				? `${p.realisedAuc.value.toFixed(4)}${p.realisedAuc.standardError === null ? '' : ` ± ${p.realisedAuc.standardError.toFixed(4)} (SE)`}`
				: '–';
			lines.push(
				`performance    decisions of ${days}, maturity 0 months: ${p.predictions} predictions, ${p.labelled} with an outcome, ` +
					`${p.defaults} defaults; realised AUC ${auc}, estimated ${p.estimatedAuc === null || p.estimatedAuc === undefined ? '–' : p.estimatedAuc.toFixed(4)}`
			);
		}
	}
	return lines.join('\n') + '\n';
}
