/**
 * The scoring workspace's server side on a real core and database: the page load (form and
 * samples from the manifest), the recorded score action, the unrecorded what-if, field-level
 * refusals and the role rules.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isActionFailure, type ActionFailure, type RequestEvent } from '@sveltejs/kit';
import { decide, pageAccess } from '$lib/server/auth/access';
import { countPredictions } from '$lib/server/services/prediction-writer';
import type { FormProblem } from '$lib/server/forms';
import type { FormFieldSpec, FormValues, SampleApplicant, ScoreOutcome } from '$lib/scoring/types';
import * as scorePage from '../../src/routes/score/[model]/+page.server';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { pageEvent, useAsProcessCore } from '../helpers/page-event';
import { predictions, type Role } from '$lib/server/db/schema';

interface Loaded {
	fields: FormFieldSpec[];
	samples: SampleApplicant[];
}
type Success = { outcome: ScoreOutcome; values: FormValues };
type Answer = Success | ActionFailure<FormProblem>;

/** The answer of an action that must have succeeded. */
function succeeded(answer: Answer): Success {
	if (isActionFailure(answer)) throw new Error(`refused: ${JSON.stringify(answer.data)}`);
	return answer as Success;
}

/** The answer of an action that must have been refused. */
function refusal(answer: Answer): ActionFailure<FormProblem> {
	if (!isActionFailure(answer)) throw new Error('expected a refusal');
	return answer as unknown as ActionFailure<FormProblem>;
}
// The route's own load and actions, typed by what this test reads of them.
const load = scorePage.load as unknown as (event: RequestEvent) => Promise<Loaded>;
const actions = scorePage.actions as unknown as Record<
	'score' | 'whatIf',
	(event: RequestEvent) => Promise<Answer>
>;

describe.each(testDatabaseKinds())('the scoring page on %s', (kind) => {
	let t: TestCore;
	let restore: () => void;
	let page: Loaded;

	const post = (
		action: 'score' | 'whatIf',
		form: Record<string, string>,
		role: Role = 'risk_manager',
		query = ''
	) =>
		actions[action](
			pageEvent({
				role,
				url: `/score/lending-club?${query}/${action}`,
				params: { model: 'lending-club' },
				routeId: '/score/[model]',
				form
			})
		);

	beforeAll(async () => {
		t = await startTestCore(kind);
		restore = useAsProcessCore(t.core);
		page = await load(
			pageEvent({
				role: 'risk_manager',
				url: '/score/lending-club',
				params: { model: 'lending-club' },
				routeId: '/score/[model]'
			})
		);
	});
	afterAll(async () => {
		restore();
		await t.dispose();
	});

	const sample = (id: string) => {
		const found = page.samples.find((s) => s.id === id);
		if (!found) throw new Error(`no ${id} sample`);
		return found.values;
	};

	it('should generate one field per manifest feature, with units, ranges and choices', () => {
		const manifest = t.core.models.resolve('lending-club').manifest;
		expect(page.fields.map((f) => f.name)).toEqual(manifest.features.map((f) => f.name));
		const amount = page.fields.find((f) => f.name === 'funded_amnt');
		expect(amount).toMatchObject({
			label: 'Loan amount',
			unit: 'USD',
			range: { min: 1000, max: 40000 },
			integer: true
		});
		const term = page.fields.find((f) => f.name === 'term');
		expect(term?.options?.map((o) => o.value)).toEqual(['term_36', 'term_60']);
	});

	it('should offer an approve, a review and a decline sample from the golden file', () => {
		expect(page.samples.map((s) => s.id)).toEqual(['approve', 'review', 'decline']);
	});

	it('should record a scored sample and answer the decision, the waterfall and the population', async () => {
		const before = await countPredictions(t.core.db);
		const answer = succeeded(await post('score', sample('decline')));
		const outcome = answer.outcome;
		expect(outcome.score.kind).toBe('recorded');
		expect(outcome.score.decision).toBe('decline');
		expect(outcome.score.predictionId).toMatch(/^[0-9a-f-]{36}$/);
		const sum = outcome.score.contributions.reduce((total, c) => total + c.shap, outcome.score.baseValue);
		expect(sum).toBeCloseTo(outcome.score.margin, 4);
		expect(outcome.population).toHaveLength(5);
		const hint = outcome.counterfactual;
		expect(hint.searched).toBe(true);
		expect(hint.targetProbability).toBeLessThan(hint.approveBelow);
		if (hint.found) {
			expect(hint.changes.length).toBeGreaterThan(0);
			expect(hint.changes.length).toBeLessThanOrEqual(3);
			expect(hint.probability).toBeLessThanOrEqual(hint.targetProbability);
			expect(hint.decision).toBe('approve');
		} else {
			expect(hint.reason).toMatch(/No change|None of the features/);
		}
		// Each reason's sentence names the applicant's value as the page shows it, so the panel
		// need not print it again.
		expect(outcome.score.reasons.length).toBeGreaterThan(0);
		for (const reason of outcome.score.reasons) {
			expect(reason.text).toContain(reason.value === 'unknown' ? 'was not provided' : reason.value);
		}
		expect(await countPredictions(t.core.db)).toBe(before + 1);
	});

	it('should answer a what-if without recording it', async () => {
		const before = await countPredictions(t.core.db);
		const answer = succeeded(await post('whatIf', { ...sample('review'), funded_amnt: '2000' }));
		expect(answer.outcome.score.kind).toBe('what-if');
		expect(answer.outcome.score.predictionId).toBeNull();
		expect(answer.values.funded_amnt).toBe('2000');
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should score the challenger named in the URL', async () => {
		const answer = succeeded(
			await post('whatIf', sample('approve'), 'risk_manager', 'version=scorecard-1.0.0&')
		);
		expect(answer.outcome.score.model).toEqual({ id: 'lending-club', version: 'scorecard-1.0.0' });
	});

	it('should record the application reference typed in the form, and refuse a malformed one', async () => {
		const answer = succeeded(await post('score', { ...sample('review'), applicationId: ` APP-${kind}-7 ` }));
		const id = answer.outcome.score.predictionId ?? '';
		const [stored] = await t.core.db
			.select({ applicationId: predictions.applicationId })
			.from(predictions)
			.where(eq(predictions.id, id));
		expect(stored?.applicationId).toBe(`APP-${kind}-7`);
		const before = await countPredictions(t.core.db);
		const bad = refusal(await post('score', { ...sample('review'), applicationId: 'not valid!' }));
		expect(bad.status).toBe(400);
		expect(Object.keys(bad.data.fieldErrors)).toEqual(['applicationId']);
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should refuse bad fields with a 400 and a message at each field, recording nothing', async () => {
		const before = await countPredictions(t.core.db);
		for (const action of ['score', 'whatIf'] as const) {
			const answer = refusal(
				await post(action, {
					...sample('approve'),
					funded_amnt: '999999',
					int_rate: 'high',
					term: 'term_99',
					annual_inc: ''
				})
			);
			expect(answer.status).toBe(400);
			expect(answer.data.fieldErrors).toEqual({
				funded_amnt: ['Loan amount must be at most 40000 USD'],
				int_rate: ['Interest rate must be a number'],
				term: [expect.stringContaining('Loan term must be one of')],
				annual_inc: ['Annual income is required']
			});
			expect(answer.data.values?.int_rate).toBe('high');
		}
		expect(await countPredictions(t.core.db)).toBe(before);
	});

	it('should refuse people who may not score, in the route rule and again at the procedure', async () => {
		for (const role of ['viewer', 'executive'] as const) {
			expect(decide(pageAccess['/score/[model]'] ?? { kind: 'public' }, { role, stage: 'active' })).toEqual({
				outcome: 'forbidden'
			});
			const answer = refusal(await post('score', sample('approve'), role));
			expect(answer.status).toBe(403);
			expect(answer.data.message).toMatch(/Requires one of the roles/);
		}
		expect(
			decide(pageAccess['/models/[model]'] ?? { kind: 'public' }, { role: 'viewer', stage: 'active' })
		).toEqual({
			outcome: 'allow'
		});
	});

	it('should answer 404 for an unknown model or version', async () => {
		const event = pageEvent({
			role: 'admin',
			url: '/score/nope',
			params: { model: 'nope' },
			routeId: '/score/[model]'
		});
		await expect(load(event)).rejects.toMatchObject({ status: 404 });
		const version = pageEvent({
			role: 'admin',
			url: '/score/lending-club?version=xgb-9',
			params: { model: 'lending-club' },
			routeId: '/score/[model]'
		});
		await expect(load(version)).rejects.toMatchObject({ status: 404 });
	});
});
