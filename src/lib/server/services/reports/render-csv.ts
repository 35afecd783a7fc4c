/**
 * A report as CSV, one figure a row (long form), so a spreadsheet can filter and pivot it:
 * `report, kind, period_start, period_end, model, version, champion, section, item, figure, value,
 * severity`. Written with papaparse (formula-like text is escaped).
 */
import Papa from 'papaparse';
import type { ReportContent } from './content';

type Row = (string | number | null)[];

export function renderReportCsv(content: ReportContent, meta: { id: string }): string {
	const rows: Row[] = [];
	for (const model of content.models)
		for (const v of model.versions) {
			const push = (section: string, item: string, figure: string, value: number | null, severity = '') =>
				rows.push([
					meta.id,
					content.kind,
					content.period.from,
					content.period.to,
					model.model,
					v.version,
					v.champion ? 'yes' : 'no',
					section,
					item,
					figure,
					value,
					severity
				]);
			push('volume', '', 'predictions', v.volume.predictions);
			push('volume', '', 'approve', v.volume.approve);
			push('volume', '', 'review', v.volume.review);
			push('volume', '', 'decline', v.volume.decline);
			if (v.drift) {
				// No PSI without a present value in the period (severity null): the cell is left empty.
				const { score } = v.drift;
				push('drift', '$score', 'psi', score.severity ? score.psi : null, score.severity ?? '');
				for (const f of v.drift.features) {
					push('drift', f.feature, 'psi', f.severity ? f.psi : null, f.severity ?? '');
					push('drift', f.feature, 'missing_rate_change', f.severity ? f.missingRateChange : null);
				}
			}
			if (v.estimated) {
				push('estimated', '', 'auc', v.estimated.auc);
				push('estimated', '', 'approval_rate', v.estimated.approvalRate);
				push('estimated', '', 'default_rate', v.estimated.defaultRate);
				push('estimated', '', 'bad_rate_approved', v.estimated.badRateApproved);
			}
			if (v.realised) {
				const r = v.realised;
				const cohort = `${r.cohort.from.slice(0, 10)}/${r.cohort.to.slice(0, 10)}`;
				for (const [figure, value] of [
					['loans', r.n],
					['defaults', r.defaults],
					['default_rate', r.defaultRate],
					['auc', r.auc],
					['auc_lower', r.aucLower],
					['auc_upper', r.aucUpper],
					['gini', r.gini],
					['ks', r.ks],
					['brier', r.brier],
					['bad_rate_approved', r.badRateApproved],
					['expected_auc', r.expectedAuc],
					['expected_bad_rate_approved', r.expectedBadRateApproved]
				] as const)
					push('realised', cohort, figure, value);
			}
		}
	const header = [
		'report',
		'kind',
		'period_start',
		'period_end',
		'model',
		'version',
		'champion',
		'section',
		'item',
		'figure',
		'value',
		'severity'
	];
	return Papa.unparse({ fields: header, data: rows }, { newline: '\r\n', escapeFormulae: true }) + '\r\n';
}
