/**
 * How an applicant's value reads in a reason sentence and on every portal page: thousands
 * separators, at most two decimals, the feature's unit after the number, a category's label.
 * Pure, shared by the decision layer and the browser, so a sentence and the page around it agree.
 */

/** What formatting needs of a feature (a manifest feature or the portal's view of one). */
export interface FormattableFeature {
	type: 'numeric' | 'categorical' | 'ordinal';
	unit: string | null;
	categoryLabels?: Readonly<Record<string, string>> | null;
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** A number with thousands separators and at most two decimals: 35000 → "35,000", 13.456 → "13.46". */
export function formatNumber(value: number): string {
	// −0 would print as "-0".
	return numberFormat.format(value === 0 ? 0 : value);
}

/**
 * A number with its unit: "35,000 USD", "13.5 %", "36 months". A unit whose last word is a
 * plural ("months", "years", "currency units") loses its "s" for exactly one: "1 year".
 */
export function formatQuantity(value: number, unit: string | null): string {
	const n = formatNumber(value);
	if (!unit) return n;
	const singular = n === '1' && /[a-z]s$/.test(unit) ? unit.slice(0, -1) : unit;
	return `${n} ${singular}`;
}

/** A category in words: its label from the manifest, else the code itself. */
export function formatCategory(feature: FormattableFeature, value: string): string {
	return feature.categoryLabels?.[value] ?? value;
}

/** A present value in words: a number with its unit or a category's label. */
export function formatValue(feature: FormattableFeature, value: number | string): string {
	if (feature.type === 'numeric' && typeof value === 'number') return formatQuantity(value, feature.unit);
	return formatCategory(feature, String(value));
}
