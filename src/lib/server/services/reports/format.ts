/** How the report's files write their figures: the same in HTML, PDF and (raw) CSV. */
import type { ReportKind } from '../../db/schema';
import type { ReportContent } from './content';

export const dash = '—';

export function fixed(value: number | null | undefined, digits = 3): string {
	return value === null || value === undefined || !Number.isFinite(value) ? dash : value.toFixed(digits);
}

export function percent(value: number | null | undefined): string {
	return value === null || value === undefined || !Number.isFinite(value)
		? dash
		: `${(value * 100).toFixed(1)} %`;
}

export function count(value: number): string {
	return value.toLocaleString('en-US');
}

/** `2026-12-03` for a daily report, `2026-11-23 – 2026-11-29` for a weekly one (end inclusive). */
export function periodText(content: Pick<ReportContent, 'kind' | 'period'>): string {
	const from = content.period.from.slice(0, 10);
	const last = new Date(Date.parse(content.period.to) - 86_400_000).toISOString().slice(0, 10);
	return content.kind === 'daily' ? `${from} (UTC)` : `${from} – ${last} (UTC)`;
}

export function title(kind: ReportKind): string {
	return kind === 'daily' ? 'Daily drift and performance report' : 'Weekly drift and performance report';
}

/** `2026-12-04 06:00 UTC`. */
export function instant(iso: string | null): string {
	return iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : dash;
}
