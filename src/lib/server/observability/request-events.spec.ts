import { describe, expect, it } from 'vitest';
import { portalRequestKind } from './request-events';

describe('portalRequestKind', () => {
	it('should count the portal’s scoring as scoring traffic, its other pages as pages', () => {
		expect(portalRequestKind('POST', '/score/[model]')).toBe('portal');
		expect(portalRequestKind('POST', '/batch/[model]/score')).toBe('portal');
		expect(portalRequestKind('GET', '/score/[model]')).toBe('page');
		expect(portalRequestKind('POST', '/batch/[model]/check')).toBe('page');
		expect(portalRequestKind('GET', '/monitoring')).toBe('page');
		expect(portalRequestKind('GET', '/readyz')).toBe('other');
		expect(portalRequestKind('GET', '/api/docs')).toBe('other');
	});
});
