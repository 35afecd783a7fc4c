import { describe, expect, it } from 'vitest';
import { createAccountStatusCache, type AccountStatus } from './account-status';

function fakeStore(initial: AccountStatus = 'active') {
	let status = initial;
	let loads = 0;
	return {
		load: (_id: string) => {
			loads++;
			return Promise.resolve(status);
		},
		set: (next: AccountStatus) => (status = next),
		loads: () => loads
	};
}

describe('account status cache', () => {
	it('should answer from the cache within the TTL and ask again after it', async () => {
		let now = 0;
		const store = fakeStore();
		const cache = createAccountStatusCache({ load: store.load, ttlMs: 5_000, now: () => now });
		expect(await cache.get('a')).toBe('active');
		store.set('revoked');
		now = 4_999;
		expect(await cache.get('a')).toBe('active');
		expect(store.loads()).toBe(1);
		now = 5_000;
		expect(await cache.get('a')).toBe('revoked');
		expect(store.loads()).toBe(2);
	});

	it('should see a change at once after invalidate', async () => {
		const store = fakeStore();
		const cache = createAccountStatusCache({ load: store.load, ttlMs: 60_000, now: () => 0 });
		await cache.get('a');
		store.set('revoked');
		cache.invalidate('a');
		expect(await cache.get('a')).toBe('revoked');
	});

	it('should share one query between concurrent misses', async () => {
		const store = fakeStore();
		const cache = createAccountStatusCache({ load: store.load, ttlMs: 5_000, now: () => 0 });
		const answers = await Promise.all([cache.get('a'), cache.get('a'), cache.get('a')]);
		expect(answers).toEqual(['active', 'active', 'active']);
		expect(store.loads()).toBe(1);
	});

	it('should not keep an answer whose query raced an invalidation', async () => {
		let release: (status: AccountStatus) => void = () => {};
		let loads = 0;
		const cache = createAccountStatusCache({
			load: () => {
				loads++;
				return loads === 1
					? new Promise<AccountStatus>((resolve) => (release = resolve))
					: Promise.resolve('revoked');
			},
			ttlMs: 60_000,
			now: () => 0
		});
		const stale = cache.get('a');
		cache.invalidate('a');
		release('active');
		expect(await stale).toBe('active');
		expect(await cache.get('a')).toBe('revoked');
	});

	it('should not cache a failed lookup', async () => {
		let fail = true;
		const cache = createAccountStatusCache({
			load: () => (fail ? Promise.reject(new Error('database down')) : Promise.resolve('active')),
			ttlMs: 60_000,
			now: () => 0
		});
		await expect(cache.get('a')).rejects.toThrow('database down');
		fail = false;
		expect(await cache.get('a')).toBe('active');
	});

	it('should ask every time when the TTL is 0', async () => {
		const store = fakeStore();
		const cache = createAccountStatusCache({ load: store.load, ttlMs: 0, now: () => 0 });
		await cache.get('a');
		await cache.get('a');
		expect(store.loads()).toBe(2);
	});
});
