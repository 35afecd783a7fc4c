import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown } from './markdown';

describe('parseMarkdown', () => {
	it('should read headings, paragraphs, lists and tables as data', () => {
		const blocks = parseMarkdown(
			'# Card\n\nSome **bold** and `code`.\nSame paragraph.\n\n- one\n- two\n\n| a | b \\| c |\n|---|---|\n| 1 | 2 |\n'
		);
		expect(blocks.map((b) => b.kind)).toEqual(['heading', 'paragraph', 'list', 'table']);
		expect(blocks[1]).toEqual({
			kind: 'paragraph',
			content: [
				{ kind: 'text', text: 'Some ' },
				{ kind: 'strong', text: 'bold' },
				{ kind: 'text', text: ' and ' },
				{ kind: 'code', text: 'code' },
				{ kind: 'text', text: '. Same paragraph.' }
			]
		});
		const table = blocks[3];
		expect(table?.kind === 'table' && table.header.map((cell) => cell.map((s) => s.text).join(''))).toEqual([
			'a',
			'b | c'
		]);
	});

	it('should keep markup as text and drop links that are not http(s)', () => {
		expect(parseMarkdown('<script>alert(1)</script>')).toEqual([
			{ kind: 'paragraph', content: [{ kind: 'text', text: '<script>alert(1)</script>' }] }
		]);
		const unsafe = parseInline('[x](javascript:alert(1))');
		expect(unsafe.every((span) => span.kind === 'text')).toBe(true);
		expect(unsafe.map((span) => span.text).join('')).not.toContain('javascript');
		expect(parseInline('[site](https://example.com)')).toEqual([
			{ kind: 'link', text: 'site', href: 'https://example.com' }
		]);
	});

	it('should read an underscore inside a word as a letter, and _this_ as emphasis', () => {
		expect(parseInline('sklearn train_test_split, random_state=42')).toEqual([
			{ kind: 'text', text: 'sklearn train_test_split, random_state=42' }
		]);
		expect(parseInline('an _emphasised_ word, and *this*')).toEqual([
			{ kind: 'text', text: 'an ' },
			{ kind: 'em', text: 'emphasised' },
			{ kind: 'text', text: ' word, and ' },
			{ kind: 'em', text: 'this' }
		]);
	});
});
