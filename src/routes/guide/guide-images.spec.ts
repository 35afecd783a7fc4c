import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The guide's screenshots stay light: tests/e2e/guide.ts writes them as JPEG at most 2,000 px
 * tall, and this check holds the committed folder to that, and to every picture that the guide
 * page, the README and the docs refer to.
 */
const FOLDER = 'static/guide';
const MAX_HEIGHT = 2000;
const MAX_FOLDER_BYTES = 3 * 1024 * 1024;

/** Width and height from a JPEG's start-of-frame segment (SOF0–SOF15 except DHT, JPG and DAC). */
export function jpegSize(bytes: Buffer): { width: number; height: number } {
	if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error('not a JPEG (no SOI marker)');
	let offset = 2;
	while (offset + 9 < bytes.length) {
		if (bytes[offset] !== 0xff) throw new Error(`no JPEG marker at byte ${offset}`);
		const marker = bytes[offset + 1] ?? 0;
		if (marker === 0xff) {
			offset += 1;
			continue;
		}
		const length = bytes.readUInt16BE(offset + 2);
		const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
		if (isFrame) return { height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) };
		offset += 2 + length;
	}
	throw new Error('no JPEG start-of-frame segment');
}

/** Every guide picture named in the guide page (both widths), the README and the docs. */
function referencedImages(): string[] {
	const names = new Set<string>();
	const guide = readFileSync('src/routes/guide/+page.svelte', 'utf8');
	for (const match of guide.matchAll(/\{@render shot\(\s*'([a-z0-9-]+)'/g)) {
		names.add(`${match[1]}-desktop.jpg`);
		names.add(`${match[1]}-phone.jpg`);
	}
	const documents = [
		'README.md',
		...readdirSync('docs', { recursive: true, encoding: 'utf8' })
			.filter((file) => file.endsWith('.md'))
			.map((file) => path.join('docs', file))
	];
	for (const file of documents) {
		for (const match of readFileSync(file, 'utf8').matchAll(/static\/guide\/([A-Za-z0-9._-]+)/g))
			names.add(match[1] ?? '');
	}
	return [...names].sort();
}

describe('guide images', () => {
	const files = readdirSync(FOLDER).filter((file) => !file.startsWith('.'));

	it('should read the size of a JPEG from its header', () => {
		// SOI, then an SOF0 segment of a 3 × 2 image.
		const header = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x02, 0x00, 0x03, 0x03]);
		expect(jpegSize(Buffer.concat([header, Buffer.alloc(16)]))).toEqual({ width: 3, height: 2 });
		expect(() => jpegSize(Buffer.from('\x89PNG\r\n'))).toThrow(/not a JPEG/);
	});

	it('should hold only JPEG pictures at most 2,000 px tall', () => {
		expect(files.length).toBeGreaterThan(0);
		const tooTall = files
			.filter((file) => file.endsWith('.jpg'))
			.map((file) => ({ file, ...jpegSize(readFileSync(path.join(FOLDER, file))) }))
			.filter((image) => image.height > MAX_HEIGHT);
		expect(files.filter((file) => !file.endsWith('.jpg'))).toEqual([]);
		expect(tooTall).toEqual([]);
	});

	it('should stay under 3 MB in all', () => {
		const bytes = files.reduce((sum, file) => sum + statSync(path.join(FOLDER, file)).size, 0);
		expect(bytes).toBeLessThan(MAX_FOLDER_BYTES);
	});

	it('should have every picture that the guide, the README and the docs show', () => {
		const referenced = referencedImages();
		expect(referenced.length).toBeGreaterThan(0);
		expect(referenced.filter((name) => !files.includes(name))).toEqual([]);
	});
});
