/**
 * A report as one self-contained HTML page: inline CSS, no script, image, font or link to
 * anything outside the file, so it opens offline and can be mailed or archived as it is.
 */
import type { ReportContent, VersionReport } from './content';
import { count, dash, fixed, instant, percent, periodText, title } from './format';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0;padding:16px;max-width:60rem}
h1{font-size:1.35rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.75rem 0 .25rem}h3{font-size:1rem;margin:1.25rem 0 .4rem}
p{margin:.25rem 0}.muted{color:#57606a}.wrap{overflow-x:auto}
table{border-collapse:collapse;margin:.25rem 0 .75rem;min-width:18rem}
th,td{padding:.3rem .6rem;border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.85em}
.stable{background:#dafbe1;color:#116329}.watch{background:#fff8c5;color:#7d4e00}.act{background:#ffebe9;color:#a40e26}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.25rem 0}dt{color:#57606a}dd{margin:0}
`.replace(/\n/g, '');

function escape(text: string): string {
	return text.replace(
		/[&<>"']/g,
		(c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c
	);
}

function severity(value: string | null): string {
	return value ? `<span class="sev ${value}">${value}</span>` : dash;
}

function version(v: VersionReport): string {
	const parts: string[] = [];
	parts.push(
		`<h3>${escape(v.version)}${v.champion ? ' (champion)' : ''}</h3>`,
		`<dl><dt>Decisions</dt><dd>${count(v.volume.predictions)} (approve ${count(v.volume.approve)}, review ${count(v.volume.review)}, decline ${count(v.volume.decline)})</dd>`
	);
	if (v.estimated)
		parts.push(
			`<dt>Estimated AUC</dt><dd>${fixed(v.estimated.auc)}</dd>`,
			`<dt>Approval rate</dt><dd>${percent(v.estimated.approvalRate)}</dd>`,
			`<dt>Expected default rate</dt><dd>${percent(v.estimated.defaultRate)}</dd>`,
			`<dt>Expected bad rate, approved</dt><dd>${percent(v.estimated.badRateApproved)}</dd>`
		);
	if (v.realised) {
		const r = v.realised;
		parts.push(
			`<dt>Realised, cohort</dt><dd>${escape(r.cohort.from.slice(0, 10))} to ${escape(r.cohort.to.slice(0, 10))} (excl.): ${count(r.n)} loans, ${count(r.defaults)} defaults</dd>`,
			`<dt>Realised AUC</dt><dd>${fixed(r.auc)} (95 % ${fixed(r.aucLower)}–${fixed(r.aucUpper)}); expected ${fixed(r.expectedAuc)}</dd>`,
			`<dt>Gini, KS, Brier</dt><dd>${fixed(r.gini)}, ${fixed(r.ks)}, ${fixed(r.brier, 4)}</dd>`,
			`<dt>Bad rate, approved</dt><dd>${percent(r.badRateApproved)}; expected ${percent(r.expectedBadRateApproved)}</dd>`
		);
	} else if (v.loaded)
		parts.push(`<dt>Realised</dt><dd>no matured loan of the cohort has an outcome yet</dd>`);
	parts.push('</dl>');
	if (!v.drift) {
		parts.push('<p class="muted">Not loaded on the instance that built the report: no drift.</p>');
		return parts.join('');
	}
	const rows = [
		`<tr><td>score</td><td class="n">${v.drift.score.severity ? fixed(v.drift.score.psi) : dash}</td><td>${severity(v.drift.score.severity)}</td><td class="n">${dash}</td></tr>`,
		...v.drift.features.map(
			(f) =>
				`<tr><td>${escape(f.feature)}</td><td class="n">${f.severity ? fixed(f.psi) : dash}</td><td>${severity(f.severity)}</td><td class="n">${f.severity ? percent(f.missingRateChange) : dash}</td></tr>`
		)
	];
	parts.push(
		'<div class="wrap"><table><thead><tr><th>Drift vs reference</th><th class="n">PSI</th><th>Severity</th><th class="n">Missing Δ</th></tr></thead>',
		`<tbody>${rows.join('')}</tbody></table></div>`
	);
	return parts.join('');
}

export function renderReportHtml(
	content: ReportContent,
	meta: { id: string; instance: string; completedAt: string | null }
): string {
	const heading = `${title(content.kind)}: ${periodText(content)}`;
	const body = [
		`<h1>${escape(heading)}</h1>`,
		`<p class="muted">Built ${escape(instant(meta.completedAt ?? content.generatedAt))} by ${escape(meta.instance)}. PSI bands: watch from ${content.bands.watch}, act from ${content.bands.act}. Realised figures: loans decided ${content.maturityMonths} months before the period, once matured. Report ${escape(meta.id)}.</p>`
	];
	if (content.models.length === 0) body.push('<p>No model is loaded and none scored in the period.</p>');
	for (const model of content.models) {
		body.push(`<h2>${escape(model.name ? `${model.name} (${model.model})` : model.model)}</h2>`);
		for (const v of model.versions) body.push(version(v));
	}
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escape(heading)}</title><style>${STYLE}</style></head><body>${body.join('')}</body></html>\n`;
}
