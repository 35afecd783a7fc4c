DROP INDEX "predictions_decision_created_at_idx";--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "shap_values" "bytea";--> statement-breakpoint
-- shap_values holds float64 little-endian values; this reads them as a float8[] in SQL, exactly
-- (sign, exponent and mantissa are reassembled in float8 arithmetic, which is exact for each step).
-- The n-th value belongs to the n-th key of the row's input: see docs/operations.md.
CREATE FUNCTION "shap_values"(data bytea) RETURNS double precision[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT coalesce(array_agg(
		CASE
			WHEN e = 2047 THEN CASE WHEN m <> 0 THEN 'NaN'::float8 WHEN s = 1 THEN '-Infinity'::float8 ELSE 'Infinity'::float8 END
			WHEN e = 0 THEN (1 - 2 * s)::float8 * m::float8 * power(2::float8, -1074::float8)
			ELSE (1 - 2 * s)::float8 * (1 + m::float8 / 4503599627370496::float8) * power(2::float8, (e - 1023)::float8)
		END ORDER BY i), '{}')
	FROM (
		SELECT i, (b >> 63) & 1 AS s, (b >> 52) & 2047 AS e, b & 4503599627370495 AS m
		FROM (
			SELECT i, ('x' || encode(
				substring(data FROM i * 8 + 8 FOR 1) || substring(data FROM i * 8 + 7 FOR 1) ||
				substring(data FROM i * 8 + 6 FOR 1) || substring(data FROM i * 8 + 5 FOR 1) ||
				substring(data FROM i * 8 + 4 FOR 1) || substring(data FROM i * 8 + 3 FOR 1) ||
				substring(data FROM i * 8 + 2 FOR 1) || substring(data FROM i * 8 + 1 FOR 1), 'hex'))::bit(64)::bigint AS b
			FROM generate_series(0, length(data) / 8 - 1) AS i
		) AS words
	) AS parts
$$;
