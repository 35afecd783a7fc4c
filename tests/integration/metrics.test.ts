import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRequestHandler } from '$lib/server/observability/metrics-endpoint';
import { LATENCY_BUCKETS_SECONDS } from '$lib/server/observability/metrics';
import { createCaller } from '$lib/server/trpc/root';
import { serviceToken } from '../helpers/api';
import { startFastPathServer, type FastPathServer } from '../helpers/fast-path';
import { startTestCore, type TestCore } from '../helpers/core';
import { testDatabaseKinds } from '../helpers/database';
import { goldenRows } from '../helpers/golden';
import { parseExposition, sampleSum, samplesOf, type Series } from '../helpers/prometheus';

const golden = goldenRows('lending-club/xgb-1.0.0');
const applicants = golden.slice(0, 8).map((row) => row.raw);
const MODEL = { model: 'lending-club', version: 'xgb-1.0.0' };
const SCORE_ROUTE = 'POST /models/{model}/score';
const BATCH_ROUTE = 'POST /models/{model}/score/batch';

async function listen(server: Server): Promise<string> {
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.each(testDatabaseKinds())('/metrics on %s', (kind) => {
	let t: TestCore;
	let front: FastPathServer;
	let base: string;
	let token: string;

	beforeAll(async () => {
		t = await startTestCore(kind);
		token = await serviceToken(t.core, 'metrics-test');
		// The production shape: the custom server's fast path serves /api/v1 and /metrics.
		front = await startFastPathServer(t.core, { metrics: true, trpc: false });
		base = front.base;
	});
	afterAll(async () => {
		await front.close();
		await t.dispose();
	});

	async function scrape(): Promise<Series[]> {
		const response = await fetch(`${base}/metrics`);
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
		return parseExposition(await response.text());
	}

	async function rest(path: string, body: object): Promise<{ status: number; json: unknown }> {
		const response = await fetch(`${base}/api/v1${path}`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: JSON.stringify(body)
		});
		return { status: response.status, json: await response.json() };
	}

	it('should count predictions by model, version, decision and channel, and every request by route and status', async () => {
		const before = await scrape();
		const decisions: { channel: string; decision: string; probability: number }[] = [];

		for (const applicant of applicants.slice(0, 3)) {
			const answer = await rest('/models/lending-club/score', { applicant });
			expect(answer.status).toBe(200);
			const { decision, probability } = answer.json as { decision: string; probability: number };
			decisions.push({ channel: 'api', decision, probability });
		}
		const batch = await rest('/models/lending-club/score/batch', { applicants: applicants.slice(3, 8) });
		expect(batch.status).toBe(200);
		for (const row of (batch.json as { results: { decision: string; probability: number }[] }).results) {
			decisions.push({ channel: 'batch', decision: row.decision, probability: row.probability });
		}
		const invalid = await rest('/models/lending-club/score', {
			applicant: { ...applicants[0], annual_inc: 'x' }
		});
		expect(invalid.status).toBe(400);

		const scorer = createCaller(t.context('scorer'));
		for (const applicant of applicants.slice(0, 2)) {
			const result = await scorer.scoring.score({ model: 'lending-club', applicant });
			decisions.push({ channel: 'trpc', decision: result.decision, probability: result.probability });
		}
		await expect(
			createCaller(t.context('viewer')).scoring.score({
				model: 'lending-club',
				applicant: applicants[0] ?? {}
			})
		).rejects.toThrow();

		const after = await scrape();
		const delta = (name: string, labels: Record<string, string> = {}) =>
			sampleSum(after, name, labels) - sampleSum(before, name, labels);

		// Predictions: exactly the recorded decisions, per label set.
		for (const channel of ['api', 'batch', 'trpc']) {
			for (const decision of ['approve', 'review', 'decline']) {
				const expected = decisions.filter((d) => d.channel === channel && d.decision === decision).length;
				expect(
					delta('credible_predictions_total', { ...MODEL, decision, channel }),
					`${channel} ${decision}`
				).toBe(expected);
			}
		}
		expect(delta('credible_prediction_probability_count', MODEL)).toBe(10);
		expect(delta('credible_prediction_probability_sum', MODEL)).toBeCloseTo(
			decisions.reduce((sum, d) => sum + d.probability, 0),
			9
		);

		// RED: one observation per request, labelled by route template or procedure and status.
		const requests = (labels: Record<string, string>) =>
			delta('credible_request_duration_seconds_count', labels);
		expect(requests({ kind: 'rest', route: SCORE_ROUTE, status: '200' })).toBe(3);
		expect(requests({ kind: 'rest', route: SCORE_ROUTE, status: '400' })).toBe(1);
		expect(requests({ kind: 'rest', route: BATCH_ROUTE, status: '200' })).toBe(1);
		expect(requests({ kind: 'trpc', route: 'scoring.score', status: '200' })).toBe(2);
		expect(requests({ kind: 'trpc', route: 'scoring.score', status: '403' })).toBe(1);
		// Raw paths never become labels.
		expect(
			samplesOf(after, 'credible_request_duration_seconds_count').map((s) => s.labels.route)
		).not.toContain('/models/lending-club/score');
		const buckets = samplesOf(after, 'credible_request_duration_seconds_bucket')
			.filter((s) => s.labels.route === SCORE_ROUTE && s.labels.status === '200')
			.map((s) => s.labels.le);
		expect(buckets).toEqual([...LATENCY_BUCKETS_SECONDS.map(String), '+Inf']);
		expect(buckets).toEqual(expect.arrayContaining(['0.001', '0.2', '0.5']));

		// Inference, counted on the main thread from the workers' answers: 3 + 5 + 2 rows.
		expect(delta('credible_inference_rows_total', { outcome: 'completed' })).toBe(10);
		expect(delta('credible_inference_batch_rows_sum')).toBe(10);
		expect(delta('credible_inference_batch_rows_count')).toBeGreaterThanOrEqual(3);
		expect(delta('credible_inference_batch_rows_bucket', { le: '+Inf' })).toBe(
			delta('credible_inference_batch_rows_count')
		);

		// Group commit: every recorded row went through a flush.
		expect(delta('credible_prediction_writer_flush_rows_sum')).toBe(10);
		expect(
			delta('credible_prediction_writer_flush_duration_seconds_count', { outcome: 'ok' })
		).toBeGreaterThan(0);
		expect(delta('credible_prediction_writer_flush_duration_seconds_count', { outcome: 'error' })).toBe(0);
	});

	it('should expose the pool, the models, the process and the event loop', async () => {
		const series = await scrape();
		expect(sampleSum(series, 'credible_model_info', { ...MODEL, active: 'true', state: 'ready' })).toBe(1);
		expect(sampleSum(series, 'credible_inference_workers')).toBe(1);
		expect(sampleSum(series, 'credible_inference_queue_capacity_rows')).toBe(
			t.core.env.INFERENCE_MAX_QUEUE_ROWS
		);
		for (const name of [
			'credible_inference_queue_rows',
			'credible_inference_workers_busy',
			'credible_inference_worker_busy_seconds_total',
			'credible_inference_worker_restarts_total',
			'credible_inference_overloaded_total',
			'credible_prediction_writer_pending_rows',
			'process_cpu_seconds_total',
			'process_resident_memory_bytes',
			'nodejs_eventloop_utilization'
		]) {
			expect(samplesOf(series, name).length, name).toBeGreaterThan(0);
		}
		expect(sampleSum(series, 'process_resident_memory_bytes')).toBeGreaterThan(1_000_000);
	});

	it('should refuse a scrape without the token when METRICS_TOKEN is set', async () => {
		const guarded = http.createServer(metricsRequestHandler('scrape-token-0123456789'));
		const url = `${await listen(guarded)}/metrics`;
		try {
			expect((await fetch(url)).status).toBe(401);
			expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(
				401
			);
			const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
			expect(ok.status).toBe(200);
			expect(await ok.text()).toContain('credible_request_duration_seconds');
		} finally {
			await new Promise((resolve) => guarded.close(resolve));
		}
	});
});
