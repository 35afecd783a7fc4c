/**
 * A report as a PDF, written with pdfkit as the adverse-action notices are: A4, the standard
 * Helvetica fonts (nothing to embed), a section per model and version with its figures and a
 * drift table that runs on to further pages. The document's dates are the report's, so the same
 * report renders to the same bytes.
 */
import PDFDocument from 'pdfkit';
import type { ReportContent, VersionReport } from './content';
import { count, dash, fixed, instant, percent, periodText, title } from './format';

const MARGIN = 48;
const GREY = '#555555';
const ROW = 14;
const SEVERITY_COLOURS: Record<string, string> = { stable: '#116329', watch: '#7d4e00', act: '#a40e26' };

export function renderReportPdf(
	content: ReportContent,
	meta: { id: string; instance: string; completedAt: string | null }
): Promise<Uint8Array> {
	const date = new Date(meta.completedAt ?? content.generatedAt);
	const heading = `${title(content.kind)}: ${periodText(content)}`;
	const doc = new PDFDocument({
		size: 'A4',
		margin: MARGIN,
		info: {
			Title: heading,
			Subject: `Report ${meta.id}`,
			Creator: 'Credible',
			Producer: 'Credible',
			CreationDate: date,
			ModDate: date
		}
	});
	const bytes = collect(doc);
	const width = doc.page.width - 2 * MARGIN;
	doc.font('Helvetica-Bold').fontSize(15).text(heading, { width });
	doc.font('Helvetica').fontSize(9).fillColor(GREY).moveDown(0.3);
	doc.text(
		`Built ${instant(meta.completedAt ?? content.generatedAt)} by ${meta.instance}. PSI bands: watch from ${content.bands.watch}, act from ${content.bands.act}. ` +
			`Realised figures: loans decided ${content.maturityMonths} months before the period, once matured. Report ${meta.id}.`,
		{ width }
	);
	doc.fillColor('black');
	if (content.models.length === 0)
		doc.moveDown().fontSize(11).text('No model is loaded and none scored in the period.');
	for (const model of content.models) {
		ensureRoom(doc, 60);
		doc.moveDown(1).font('Helvetica-Bold').fontSize(13);
		doc.text(model.name ? `${model.name} (${model.model})` : model.model, MARGIN, doc.y, { width });
		for (const version of model.versions) writeVersion(doc, version, width);
	}
	doc.end();
	return bytes;
}

function writeVersion(doc: PDFKit.PDFDocument, v: VersionReport, width: number): void {
	ensureRoom(doc, 80);
	doc.moveDown(0.6).font('Helvetica-Bold').fontSize(11);
	doc.text(`${v.version}${v.champion ? ' (champion)' : ''}`, MARGIN, doc.y, { width });
	doc.font('Helvetica').fontSize(9.5).moveDown(0.2);
	const lines = [
		`Decisions: ${count(v.volume.predictions)} (approve ${count(v.volume.approve)}, review ${count(v.volume.review)}, decline ${count(v.volume.decline)})`
	];
	if (v.estimated)
		lines.push(
			`Estimated AUC ${fixed(v.estimated.auc)}; approval rate ${percent(v.estimated.approvalRate)}; expected default rate ${percent(v.estimated.defaultRate)}; expected bad rate of approved ${percent(v.estimated.badRateApproved)}`
		);
	if (v.realised) {
		const r = v.realised;
		lines.push(
			`Realised (decided ${r.cohort.from.slice(0, 10)} to ${r.cohort.to.slice(0, 10)}, excl.): ${count(r.n)} loans, ${count(r.defaults)} defaults; AUC ${fixed(r.auc)} (95 % ${fixed(r.aucLower)}–${fixed(r.aucUpper)}), expected ${fixed(r.expectedAuc)}; Gini ${fixed(r.gini)}, KS ${fixed(r.ks)}, Brier ${fixed(r.brier, 4)}; bad rate of approved ${percent(r.badRateApproved)}, expected ${percent(r.expectedBadRateApproved)}`
		);
	} else if (v.loaded) lines.push('Realised: no matured loan of the cohort has an outcome yet.');
	for (const line of lines) doc.text(line, MARGIN, doc.y, { width, lineGap: 1 });
	if (!v.drift) {
		doc
			.fillColor(GREY)
			.text('Not loaded on the instance that built the report: no drift.', MARGIN, doc.y, { width });
		doc.fillColor('black');
		return;
	}
	const columns = [
		{ label: 'Drift vs reference', x: MARGIN, width: 200, align: 'left' as const },
		{ label: 'PSI', x: MARGIN + 210, width: 70, align: 'right' as const },
		{ label: 'Severity', x: MARGIN + 300, width: 80, align: 'left' as const },
		{ label: 'Missing change', x: MARGIN + 390, width: 80, align: 'right' as const }
	];
	const row = (cells: string[], bold = false, severity: string | null = null) => {
		ensureRoom(doc, ROW + 2);
		const y = doc.y;
		doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(9);
		cells.forEach((cell, i) => {
			const column = columns[i];
			if (!column) return;
			doc.fillColor(i === 2 && severity ? (SEVERITY_COLOURS[severity] ?? 'black') : 'black');
			doc.text(cell, column.x, y, { width: column.width, align: column.align, lineBreak: false });
		});
		doc.fillColor('black');
		doc.y = y + ROW;
	};
	doc.moveDown(0.4);
	row(
		columns.map((c) => c.label),
		true
	);
	row(
		['score', v.drift.score.severity ? fixed(v.drift.score.psi) : dash, v.drift.score.severity ?? dash, dash],
		false,
		v.drift.score.severity
	);
	for (const f of v.drift.features)
		row(
			[
				f.feature,
				f.severity ? fixed(f.psi) : dash,
				f.severity ?? dash,
				f.severity ? percent(f.missingRateChange) : dash
			],
			false,
			f.severity
		);
	doc.x = MARGIN;
}

/** A new page when fewer than `height` points are left above the bottom margin. */
function ensureRoom(doc: PDFKit.PDFDocument, height: number): void {
	if (doc.y + height > doc.page.height - MARGIN) doc.addPage();
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
