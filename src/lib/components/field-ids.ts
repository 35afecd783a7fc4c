/** The ids that tie a form field's label, hint and error messages to its control. */
export function fieldIds(
	idPrefix: string,
	name: string,
	hint: string | undefined,
	errors: readonly string[] | undefined
): { id: string; describedBy: string | undefined; invalid: 'true' | undefined } {
	const id = `${idPrefix}-${name}`;
	const describedBy =
		[hint ? `${id}-hint` : null, errors?.length ? `${id}-error` : null].filter(Boolean).join(' ') ||
		undefined;
	return { id, describedBy, invalid: errors?.length ? 'true' : undefined };
}
