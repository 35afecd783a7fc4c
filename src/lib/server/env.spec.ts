import { describe, expect, it } from 'vitest';
import { driftAlertThresholds, InvalidEnvironmentError, parseEnv } from './env';

describe('parseEnv', () => {
	it('should apply the defaults of an empty environment', () => {
		const env = parseEnv({});
		expect(env.PORT).toBe(3000);
		expect(env.PGLITE_DIR).toBe('.data/pglite');
		expect(env.DATABASE_URL).toBeUndefined();
		expect(env.MIGRATE_ON_START).toBe(true);
	});

	it('should treat empty strings as unset', () => {
		expect(parseEnv({ DATABASE_URL: '', PORT: '' }).PORT).toBe(3000);
	});

	it('should name the variable that is wrong', () => {
		expect(() => parseEnv({ PORT: 'abc' })).toThrow(InvalidEnvironmentError);
		expect(() => parseEnv({ PORT: 'abc' })).toThrow(/PORT/);
		expect(() => parseEnv({ DATABASE_URL: 'mysql://localhost/db' })).toThrow(/DATABASE_URL/);
	});

	it('should take drift severity bands with act above watch', () => {
		expect(parseEnv({})).toMatchObject({ DRIFT_PSI_WATCH: 0.1, DRIFT_PSI_ACT: 0.25 });
		expect(parseEnv({ DRIFT_PSI_WATCH: '0.05', DRIFT_PSI_ACT: '0.2' }).DRIFT_PSI_ACT).toBe(0.2);
		expect(() => parseEnv({ DRIFT_PSI_WATCH: '0.3' })).toThrow(/DRIFT_PSI_ACT/);
	});

	it('should take the drift alert thresholds from the bands unless set, resolve below raise', () => {
		expect(driftAlertThresholds(parseEnv({}))).toEqual({ raise: 0.25, resolve: 0.1 });
		expect(
			driftAlertThresholds(parseEnv({ ALERT_DRIFT_RAISE_PSI: '0.4', ALERT_DRIFT_RESOLVE_PSI: '0.2' }))
		).toEqual({ raise: 0.4, resolve: 0.2 });
		expect(() => parseEnv({ ALERT_DRIFT_RESOLVE_PSI: '0.25' })).toThrow(
			/ALERT_DRIFT_RESOLVE_PSI: the resolve threshold \(0.25\) must be below the raise threshold \(0.25\)/
		);
		expect(() => parseEnv({ ALERT_DRIFT_RAISE_PSI: '0.05' })).toThrow(/ALERT_DRIFT_RAISE_PSI:/);
	});

	it('should refuse an AUC resolve margin that is not inside the raise margin', () => {
		expect(parseEnv({})).toMatchObject({ ALERT_AUC_DROP: 0.05, ALERT_AUC_RESOLVE_DROP: 0.03 });
		expect(() => parseEnv({ ALERT_AUC_RESOLVE_DROP: '0.05' })).toThrow(/ALERT_AUC_RESOLVE_DROP:/);
		expect(() => parseEnv({ ALERT_AUC_DROP: '0' })).toThrow(/ALERT_AUC_DROP:/);
		expect(() => parseEnv({ ALERT_DRIFT_WINDOW_HOURS: '0' })).toThrow(/ALERT_DRIFT_WINDOW_HOURS:/);
	});

	it('should take the report schedules, turn them off when empty, and name a bad one', () => {
		expect(parseEnv({})).toMatchObject({
			REPORT_DAILY_CRON: '0 6 * * *',
			REPORT_WEEKLY_CRON: '0 6 * * 1',
			REPORT_TIMEZONE: 'UTC'
		});
		const off = parseEnv({
			REPORT_DAILY_CRON: '',
			REPORT_WEEKLY_CRON: 'off',
			REPORT_TIMEZONE: 'Europe/Paris'
		});
		expect(off).toMatchObject({
			REPORT_DAILY_CRON: null,
			REPORT_WEEKLY_CRON: null,
			REPORT_TIMEZONE: 'Europe/Paris'
		});
		expect(() => parseEnv({ REPORT_DAILY_CRON: '0 25 * * *' })).toThrow(
			/REPORT_DAILY_CRON: not a cron pattern/
		);
		expect(() => parseEnv({ REPORT_WEEKLY_CRON: 'mondays' })).toThrow(/REPORT_WEEKLY_CRON/);
		expect(() => parseEnv({ REPORT_TIMEZONE: 'Mars/Olympus' })).toThrow(/REPORT_TIMEZONE: must be an IANA/);
		expect(() => parseEnv({ REPORT_WEBHOOK_URL: 'ftp://x.example' })).toThrow(/REPORT_WEBHOOK_URL/);
	});

	it('should name every wrong variable at once', () => {
		try {
			parseEnv({ PORT: '70000', LOG_LEVEL: 'loud' });
			expect.unreachable();
		} catch (error) {
			expect((error as Error).message).toMatch(/PORT/);
			expect((error as Error).message).toMatch(/LOG_LEVEL/);
		}
	});

	it('should split the CORS allow-list', () => {
		expect(parseEnv({ CORS_ORIGINS: 'https://a.example, https://b.example' }).CORS_ORIGINS).toEqual([
			'https://a.example',
			'https://b.example'
		]);
	});
});

describe('withEmbeddedSecrets', () => {
	it('should generate the production secrets once beside the embedded database and reuse them', async () => {
		const { mkdtempSync, statSync } = await import('node:fs');
		const { tmpdir } = await import('node:os');
		const path = await import('node:path');
		const { withEmbeddedSecrets } = await import('./env');
		const dir = mkdtempSync(path.join(tmpdir(), 'credible-env-'));
		const source = { NODE_ENV: 'production', PGLITE_DIR: path.join(dir, 'pglite') };
		const first = withEmbeddedSecrets(source);
		expect(first.JWT_SECRET).toMatch(/^[0-9a-f]{64}$/);
		expect(first.TOTP_ENCRYPTION_KEY).toMatch(/^[0-9a-f]{64}$/);
		expect(withEmbeddedSecrets(source)).toEqual(first);
		expect(statSync(path.join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
		expect(() => parseEnv(first)).not.toThrow();
	});

	it('should leave a PostgreSQL deployment to its environment, where the secrets are required', async () => {
		const { withEmbeddedSecrets } = await import('./env');
		const source = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/credible' };
		expect(withEmbeddedSecrets(source)).toBe(source);
		expect(() => parseEnv(source)).toThrow(/JWT_SECRET/);
	});
});
