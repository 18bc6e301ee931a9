-- bench_timing.sql: the timing helper of scripts/bench.sh, created in the
-- benchmark database only.

CREATE SCHEMA IF NOT EXISTS bench;

-- One row per measure of the last benchmark run.
CREATE TABLE IF NOT EXISTS bench.results (
	measure text PRIMARY KEY,
	median_ms float8 NOT NULL,
	runs int NOT NULL
);

-- time_query(measure, query, tenant, runs): runs 'query' (with $1 bound
-- to the tenant) 'runs' times in this session and records the median
-- wall-clock time.  Timing inside one backend keeps client round trips
-- and result transfer out of the figures.
CREATE OR REPLACE FUNCTION bench.time_query(measure text, query text,
											tenant uuid, runs int)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	times float8[] := '{}';
	median float8;
BEGIN
	FOR i IN 1..runs LOOP
		t0 := clock_timestamp();
		EXECUTE query USING tenant;
		times := times || extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
	END LOOP;
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO median
	  FROM unnest(times) x;
	INSERT INTO bench.results VALUES (measure, median, runs)
	ON CONFLICT ON CONSTRAINT results_pkey
	DO UPDATE SET median_ms = excluded.median_ms, runs = excluded.runs;
	RETURN median;
END
$$;
