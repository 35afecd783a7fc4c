/**
 * The text of a PDF as a reader would extract it, read with Mozilla's PDF.js (the parser Firefox
 * uses), so a test both checks what a notice says and that the file opens in a real PDF reader.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

/** The metrics of the 14 standard PDF fonts (Helvetica, …), shipped with PDF.js. */
const STANDARD_FONTS = join(
	dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')),
	'standard_fonts/'
);

export interface PdfContent {
	/** Every page's text in reading order, runs joined by spaces, whitespace collapsed. */
	text: string;
	pages: number;
	/** The page size in PDF points (1/72 in) of the first page. */
	pageSize: { width: number; height: number };
	/** The document information dictionary (Title, Author, …). */
	info: Record<string, unknown>;
}

export async function readPdf(bytes: Uint8Array): Promise<PdfContent> {
	// PDF.js takes ownership of the buffer it is given: hand it a copy.
	const document = await getDocument({
		data: new Uint8Array(bytes),
		standardFontDataUrl: STANDARD_FONTS,
		useSystemFonts: false
	}).promise;
	try {
		const texts: string[] = [];
		for (let n = 1; n <= document.numPages; n++) {
			const page = await document.getPage(n);
			const content = await page.getTextContent();
			texts.push(content.items.map((item) => ('str' in item ? item.str : '')).join(' '));
		}
		const first = await document.getPage(1);
		const [, , width = 0, height = 0] = first.view;
		const { info } = await document.getMetadata();
		return {
			text: texts.join(' ').replace(/\s+/g, ' ').trim(),
			pages: document.numPages,
			pageSize: { width: Math.round(width), height: Math.round(height) },
			info: info as Record<string, unknown>
		};
	} finally {
		await document.destroy();
	}
}
