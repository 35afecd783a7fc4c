import { describe, expect, it } from 'vitest';
import {
	decisionLabel,
	decisionTone,
	formatContribution,
	formatProbability,
	formatPush,
	pushWords
} from './format';

describe('decision wording', () => {
	it('should word each decision and give it its badge tone', () => {
		expect(decisionLabel('approve')).toBe('Approve');
		expect(decisionLabel('review')).toBe('Refer for review');
		expect(decisionLabel('decline')).toBe('Decline');
		expect(decisionTone('approve')).toBe('ok');
		expect(decisionTone('review')).toBe('warn');
		expect(decisionTone('decline')).toBe('bad');
	});

	it('should show two decimals below 10 % and one above', () => {
		expect(formatProbability(0.0342)).toBe('3.42 %');
		expect(formatProbability(0.1234)).toBe('12.3 %');
	});

	it('should sign contributions and pushes with a true minus sign', () => {
		expect(formatContribution(0.1424)).toBe('+0.142');
		expect(formatContribution(-0.0961)).toBe('−0.096');
		expect(formatContribution(0)).toBe('0.000');
		expect(formatPush(0.4211)).toBe('+0.42');
		expect(formatPush(-0.17)).toBe('−0.17');
		expect(formatPush(0.001)).toBe('0.00');
		expect(pushWords(0.2)).toBe('raises risk');
		expect(pushWords(-0.2)).toBe('lowers risk');
		expect(pushWords(0.001)).toBe('no effect');
	});
});
