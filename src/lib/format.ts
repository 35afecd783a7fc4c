/**
 * Date-times as `2025-01-31 14:05 UTC` (or `…14:05:09 UTC` with seconds): the same on the server
 * and in every browser, so hydration never disagrees.
 */
export function formatDateTime(
	date: Date | string | null | undefined,
	options: { seconds?: boolean } = {}
): string {
	if (!date) return '—';
	const value = typeof date === 'string' ? new Date(date) : date;
	return `${value
		.toISOString()
		.slice(0, options.seconds ? 19 : 16)
		.replace('T', ' ')} UTC`;
}
