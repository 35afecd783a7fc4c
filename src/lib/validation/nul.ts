/**
 * PostgreSQL's text holds no NUL character (U+0000): a query with one fails as a whole, a 500.
 * Inputs are checked for it before any query, so that it is a field-level 400 instead.
 */

/** The dotted paths of the strings (and object keys) in `value` that contain a NUL character. */
export function fieldsWithNul(value: unknown, path: string[] = [], found: string[] = []): string[] {
	if (typeof value === 'string') {
		if (value.includes('\u0000')) found.push(path.join('.'));
	} else if (Array.isArray(value)) {
		value.forEach((item, index) => fieldsWithNul(item, [...path, String(index)], found));
	} else if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
		for (const [key, item] of Object.entries(value)) {
			if (key.includes('\u0000')) found.push([...path, key].join('.'));
			else fieldsWithNul(item, [...path, key], found);
		}
	}
	return found;
}
