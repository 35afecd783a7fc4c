import { describe, expect, it } from 'vitest';
import { ACCOUNT_BACKOFF, IP_BACKOFF, lockDurationMs } from './throttle';

describe('lockDurationMs', () => {
	it('should not lock before the threshold, then double from one minute up to one hour', () => {
		const minutes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 40].map(
			(failures) => lockDurationMs(failures, ACCOUNT_BACKOFF) / 60_000
		);
		expect(minutes).toEqual([0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
	});

	it('should give a shared IP more room before locking it', () => {
		expect(lockDurationMs(19, IP_BACKOFF)).toBe(0);
		expect(lockDurationMs(20, IP_BACKOFF)).toBe(60_000);
	});
});
