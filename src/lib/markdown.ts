/**
 * A small Markdown reader for model cards: headings, paragraphs, lists, tables, code blocks and
 * inline code / bold / italic / links. It returns data, never HTML: the page renders the blocks
 * with ordinary Svelte markup, so nothing in a card can inject markup or scripts.
 */

export type Inline =
	| { kind: 'text'; text: string }
	| { kind: 'code'; text: string }
	| { kind: 'strong'; text: string }
	| { kind: 'em'; text: string }
	| { kind: 'link'; text: string; href: string };

export type Block =
	| { kind: 'heading'; level: number; content: Inline[] }
	| { kind: 'paragraph'; content: Inline[] }
	| { kind: 'list'; ordered: boolean; items: Inline[][] }
	| { kind: 'table'; header: Inline[][]; rows: Inline[][][] }
	| { kind: 'code'; text: string };

/**
 * Code, bold, italic, link. An underscore inside a word (`train_test_split`) is a letter, not
 * emphasis, as in CommonMark: `_…_` needs no letter or digit just outside it.
 */
const INLINE =
	/(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*|(?<![\p{L}\p{N}])_[^_\s][^_]*_(?![\p{L}\p{N}]))|(\[[^\]]+\]\([^)\s]+\))/gu;

/** Inline spans of one line of text. Links keep only http(s) and relative targets. */
export function parseInline(text: string): Inline[] {
	const spans: Inline[] = [];
	let last = 0;
	for (const match of text.matchAll(INLINE)) {
		const at = match.index;
		if (at > last) spans.push({ kind: 'text', text: unescape(text.slice(last, at)) });
		const [token] = match;
		if (match[1]) spans.push({ kind: 'code', text: token.slice(1, -1) });
		else if (match[2]) spans.push({ kind: 'strong', text: unescape(token.slice(2, -2)) });
		else if (match[3]) spans.push({ kind: 'em', text: unescape(token.slice(1, -1)) });
		else {
			const [, label = '', href = ''] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token) ?? [];
			if (/^(https?:\/\/|\/|#)/.test(href)) spans.push({ kind: 'link', text: unescape(label), href });
			else spans.push({ kind: 'text', text: unescape(label) });
		}
		last = at + token.length;
	}
	if (last < text.length) spans.push({ kind: 'text', text: unescape(text.slice(last)) });
	return spans;
}

function unescape(text: string): string {
	return text.replace(/\\([\\`*_[\]()|#+\-.!])/g, '$1');
}

/** Splits a table row on unescaped pipes. */
function cells(line: string): string[] {
	const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
	return inner.split(/(?<!\\)\|/).map((cell) => cell.trim());
}

/** The blocks of a Markdown document. */
export function parseMarkdown(source: string): Block[] {
	const lines = source.replace(/\r\n?/g, '\n').split('\n');
	const blocks: Block[] = [];
	let i = 0;
	while (i < lines.length) {
		const line = lines[i] ?? '';
		if (line.trim() === '') {
			i += 1;
			continue;
		}
		const heading = /^(#{1,6})\s+(.*)$/.exec(line);
		if (heading) {
			blocks.push({
				kind: 'heading',
				level: heading[1]?.length ?? 1,
				content: parseInline(heading[2] ?? '')
			});
			i += 1;
			continue;
		}
		if (line.startsWith('```')) {
			const body: string[] = [];
			i += 1;
			while (i < lines.length && !(lines[i] ?? '').startsWith('```')) body.push(lines[i++] ?? '');
			i += 1;
			blocks.push({ kind: 'code', text: body.join('\n') });
			continue;
		}
		if (line.trim().startsWith('|') && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1] ?? '')) {
			const header = cells(line).map(parseInline);
			i += 2;
			const rows: Inline[][][] = [];
			while (i < lines.length && (lines[i] ?? '').trim().startsWith('|'))
				rows.push(cells(lines[i++] ?? '').map(parseInline));
			blocks.push({ kind: 'table', header, rows });
			continue;
		}
		const item = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(line);
		if (item) {
			const ordered = /\d/.test(item[1] ?? '');
			const items: string[] = [];
			while (i < lines.length) {
				const current = lines[i] ?? '';
				const next = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(current);
				if (next) items.push(next[2] ?? '');
				else if (current.trim() !== '' && /^\s+/.test(current) && items.length > 0)
					items[items.length - 1] += ` ${current.trim()}`;
				else break;
				i += 1;
			}
			blocks.push({ kind: 'list', ordered, items: items.map(parseInline) });
			continue;
		}
		const paragraph: string[] = [];
		while (i < lines.length) {
			const current = lines[i] ?? '';
			if (current.trim() === '' || /^(#{1,6}\s|```|\s*\||\s*([-*+]|\d+[.)])\s)/.test(current)) break;
			paragraph.push(current.trim());
			i += 1;
		}
		blocks.push({ kind: 'paragraph', content: parseInline(paragraph.join(' ')) });
	}
	return blocks;
}
