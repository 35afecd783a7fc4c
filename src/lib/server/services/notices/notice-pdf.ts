/**
 * Renders an adverse-action notice as a PDF with pdfkit: one page (more if the lender's statement
 * is long), the standard Helvetica fonts (nothing to embed), Letter or A4 as the lender chose. The
 * document's dates are the decision's, so the same notice renders to the same bytes.
 */
import PDFDocument from 'pdfkit';
import type { AdverseActionNotice } from './notice-content';

const MARGIN = 64;
const GREY = '#555555';

/** The notice as PDF bytes. */
export function renderNoticePdf(notice: AdverseActionNotice): Promise<Uint8Array> {
	const date = new Date(notice.date);
	const doc = new PDFDocument({
		size: notice.lender.paperSize,
		margin: MARGIN,
		info: {
			Title: `Adverse-action notice ${notice.reference}`,
			Author: notice.lender.name,
			Subject: `Decision: ${notice.decisionLabel}`,
			Creator: 'Credible',
			Producer: 'Credible',
			CreationDate: date,
			ModDate: date
		}
	});
	const bytes = collect(doc);
	write(doc, notice);
	doc.end();
	return bytes;
}

function write(doc: PDFKit.PDFDocument, notice: AdverseActionNotice): void {
	const width = doc.page.width - 2 * MARGIN;
	const { lender } = notice;

	doc.font('Helvetica-Bold').fontSize(16).text(lender.name, { width });
	doc.font('Helvetica').fontSize(10).fillColor(GREY);
	for (const line of lender.addressLines) doc.text(line, { width });
	if (lender.contact) doc.text(lender.contact, { width });
	doc.fillColor('black').moveDown(1.5);

	doc.fontSize(10).text(`Date: ${notice.dateText}`, { width });
	doc.text(`Applicant reference: ${notice.reference}`, { width });
	doc.moveDown(1.5);

	doc
		.font('Helvetica-Bold')
		.fontSize(14)
		.text('Notice of action taken on your credit application', { width });
	doc.moveDown(0.5);
	doc.fontSize(12).text(`Decision: ${notice.decisionLabel}`, { width });
	doc.font('Helvetica').fontSize(10.5).moveDown(0.5);
	doc.text(notice.summary, { width, lineGap: 2 });
	doc.moveDown(1);

	doc.font('Helvetica-Bold').fontSize(12).text('Principal reasons', { width });
	doc.font('Helvetica').fontSize(10.5).moveDown(0.4);
	if (notice.reasons.length > 0) {
		doc.list(
			notice.reasons.map((reason) => `${reason.text}.`),
			{ width, listType: 'numbered', lineGap: 2, paragraphGap: 4 }
		);
	} else {
		doc.text('No single factor stood out; contact us at the address above for the reasons.', { width });
	}
	doc.moveDown(1);

	doc.font('Helvetica-Bold').fontSize(12).text('Your rights', { width });
	doc.font('Helvetica').fontSize(10).moveDown(0.4);
	doc.text(lender.statementOfRights, { width, lineGap: 2, paragraphGap: 6 });
	doc.moveDown(2);

	doc.fontSize(7.5).fillColor(GREY);
	doc.text(
		`Prediction ${notice.predictionId} · model ${notice.model.id} version ${notice.model.version}` +
			` · ${notice.reviewed ? 'final decision by a reviewer' : 'automated decision'}`,
		{ width }
	);
}

/** Gathers the document's output stream into one array. */
function collect(doc: PDFKit.PDFDocument): Promise<Uint8Array> {
	return new Promise((resolve, reject) => {
		const chunks: Uint8Array[] = [];
		doc.on('data', (chunk: Uint8Array) => chunks.push(chunk));
		doc.on('end', () => resolve(Buffer.concat(chunks)));
		doc.on('error', reject);
	});
}
