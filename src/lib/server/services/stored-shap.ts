/**
 * How a prediction's SHAP values are stored: float64 little-endian in `predictions.shap_values`, one
 * per feature in the order of the keys of the row's `input` (the manifest's order, in which the
 * applicant is parsed), so that a row explains itself even when its model version is no longer
 * loaded. Rows recorded before migration 0005 hold a JSON object in `shap` instead.
 */
import type { Prediction } from '../db/schema';

const BYTES = 8;

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/**
 * The stored form of SHAP values given in manifest order. A Float64Array on a little-endian host
 * (every platform Node.js runs on in practice) already is that form: its bytes are shared, not
 * copied, so the caller must not change the values afterwards.
 */
export function encodeShap(values: ArrayLike<number>): Buffer {
	if (LITTLE_ENDIAN && values instanceof Float64Array) {
		return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
	}
	const bytes = Buffer.allocUnsafe(values.length * BYTES);
	for (let i = 0; i < values.length; i++) bytes.writeDoubleLE(values[i] ?? 0, i * BYTES);
	return bytes;
}

/** Feature → SHAP value of a stored prediction; null when it was recorded without them. */
export function storedShap(
	stored: Pick<Prediction, 'input' | 'shapValues' | 'shap'>
): Record<string, number> | null {
	const bytes = stored.shapValues;
	if (!bytes) return stored.shap ?? null;
	const features = Object.keys(stored.input);
	if (bytes.byteLength !== features.length * BYTES) {
		throw new Error(
			`shap_values holds ${bytes.byteLength} bytes for ${features.length} features; the row is damaged`
		);
	}
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const shap: Record<string, number> = {};
	features.forEach((feature, i) => (shap[feature] = view.getFloat64(i * BYTES, true)));
	return shap;
}
