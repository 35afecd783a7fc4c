import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ROOT_FIELD, toFieldErrors } from './field-errors';

describe('toFieldErrors', () => {
	it('should key every message by the dotted path of its field', () => {
		const schema = z.object({
			rows: z.array(z.object({ income: z.number().min(0), term: z.enum(['a', 'b']) }))
		});
		const result = schema.safeParse({
			rows: [
				{ income: 1, term: 'a' },
				{ income: -1, term: 'c' }
			]
		});
		expect(result.success).toBe(false);
		const errors = toFieldErrors(result.error?.issues ?? []);
		expect(Object.keys(errors).sort()).toEqual(['rows.1.income', 'rows.1.term']);
	});

	it('should put errors about the whole body under the root key', () => {
		const result = z.object({ a: z.number() }).safeParse('nope');
		expect(Object.keys(toFieldErrors(result.error?.issues ?? []))).toEqual([ROOT_FIELD]);
	});
});
