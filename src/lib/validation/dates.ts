import { z } from 'zod';

/**
 * The dates a filter may name. JavaScript holds years −271821 to 275760 and PostgreSQL's
 * timestamps 4713 BC to 294276 AD, but not in the same notation: year 0 and years past 9999 reach
 * the database as text it refuses. Every date filter (history, audit, alerts, reviews,
 * performance) keeps to these bounds, far inside both, and answers a field-level 400 outside them.
 */
export const FIRST_DAY = '1900-01-01';
export const LAST_DAY = '2999-12-31';
const EARLIEST = Date.UTC(1900, 0, 1);
/** Inclusive: an exclusive end of day (`LAST_DAY` plus one day) is still allowed. */
const LATEST = Date.UTC(3000, 0, 1);
const RANGE_MESSAGE = `A date from ${FIRST_DAY} to ${LAST_DAY}.`;

/** Whether an instant (a `Date` or an ISO date-time) lies within the range. */
export function withinRange(value: Date | string): boolean {
	const time = (value instanceof Date ? value : new Date(value)).getTime();
	return time >= EARLIEST && time <= LATEST;
}

/** A UTC day, `YYYY-MM-DD`, from {@link FIRST_DAY} to {@link LAST_DAY}; parses to the string. */
export const isoDay = z.iso
	.date({ error: 'Use a date like 2025-01-31.' })
	.refine((value) => value >= FIRST_DAY && value <= LAST_DAY, RANGE_MESSAGE);

/** An instant (a `Date`, an ISO date-time or milliseconds since 1970) within the same range. */
export const boundedInstant = z.coerce.date({ error: 'Not a date.' }).refine(withinRange, RANGE_MESSAGE);
