-- simulation_hourly and simulation_daily rows belong to a run of
-- simulation_runs (42_simulation_run_refs.sql): checked when written,
-- deleted with the run, and a run's keys cannot change.
SET client_min_messages = warning;
SELECT commitopt.ensure_tenant('refs-a', 'Refs A') AS ta \gset
SELECT commitopt.ensure_tenant('refs-b', 'Refs B') AS tb \gset
INSERT INTO commitopt.simulation_runs (tenant_id, run_id, window_start, window_end)
OVERRIDING SYSTEM VALUE
VALUES (:'ta', 880001, '2024-01-01', '2024-01-02'),
	   (:'ta', 880002, '2024-01-01', '2024-01-03'),
	   (:'tb', 880003, '2024-01-01', '2024-01-02');

-- pg_temp.hour_row(tenant, run, hour) and pg_temp.day_row(tenant, run,
-- day): insert one row of zeros.
CREATE FUNCTION pg_temp.hour_row(t uuid, r bigint, h timestamptz)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO commitopt.simulation_hourly
	VALUES (t, r, h, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
$$;
CREATE FUNCTION pg_temp.day_row(t uuid, r bigint, d date)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO commitopt.simulation_daily
	VALUES (t, r, d, '111111111111', 'us-east-1', 'm5',
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
$$;

CREATE TEMP TABLE ids AS SELECT :'ta'::uuid AS a, :'tb'::uuid AS b;
-- pg_temp.try(sql): runs sql; returns "ok" or the error's SQLSTATE,
-- message and detail with the tenants' ids replaced by A and B.
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	det text;
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL;
	RETURN replace(replace(st || ': ' || msg || ' / ' || det,
				   (SELECT a FROM pg_temp.ids)::text, 'A'),
				   (SELECT b FROM pg_temp.ids)::text, 'B');
END
$$;

-- Rows of existing runs: 24 hours of run 880001 in one statement, one day
-- of each run of A, one hour of B's run.
INSERT INTO commitopt.simulation_hourly
SELECT :'ta', 880001, h, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  FROM generate_series('2024-01-01 00:00+00'::timestamptz,
					   '2024-01-01 23:00+00', interval '1 hour') h;
SELECT pg_temp.day_row(:'ta', 880001, '2024-01-01'),
	   pg_temp.day_row(:'ta', 880002, '2024-01-01'),
	   pg_temp.hour_row(:'tb', 880003, '2024-01-01 00:00+00');

-- Bad references, each refused as a foreign key would: a run that does
-- not exist, a run of another tenant, in a statement whose first rows
-- were fine, and an update moving a row to a missing run.
SELECT pg_temp.try(format('SELECT pg_temp.hour_row(%L, 889999, %L)',
						   :'ta', '2024-01-01 00:00+00'));
SELECT pg_temp.try(format('SELECT pg_temp.day_row(%L, 880001, %L)',
						   :'tb', '2024-01-01'));
SELECT pg_temp.try(format($q$
	INSERT INTO commitopt.simulation_hourly
	SELECT %L, u.r, '2024-01-02 00:00+00'::timestamptz + u.n * interval '1 hour',
		   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
	  FROM unnest(ARRAY[880001, 880001, 880003]::bigint[]) WITH ORDINALITY AS u(r, n)
	$q$, :'ta'));
SELECT pg_temp.try('UPDATE commitopt.simulation_daily SET run_id = 889999
					 WHERE run_id = 880002');
-- Re-keying to an existing run of the same tenant is fine.
UPDATE commitopt.simulation_daily SET run_id = 880002, day = '2024-01-02'
 WHERE run_id = 880001;
-- By hand: run 880001 has its 24 hours and no day left, 880002 two days,
-- 880003 one hour; none of the refused statements left a row.
SELECT r.run_id,
	   (SELECT count(*) FROM commitopt.simulation_hourly h
		 WHERE h.tenant_id = r.tenant_id AND h.run_id = r.run_id) AS hours,
	   (SELECT count(*) FROM commitopt.simulation_daily d
		 WHERE d.tenant_id = r.tenant_id AND d.run_id = r.run_id) AS days
  FROM commitopt.simulation_runs r
 WHERE r.run_id BETWEEN 880001 AND 880003 ORDER BY r.run_id;

-- A run keeps its tenant and number; other columns may change.
SELECT pg_temp.try(format('UPDATE commitopt.simulation_runs SET tenant_id = %L
							 WHERE run_id = 880001', :'tb'));
UPDATE commitopt.simulation_runs SET estimated_sp_rates = true
 WHERE run_id = 880001;

-- Deleting runs deletes their rows and nothing else: after deleting
-- 880001 and 880002 (one statement), by hand 0 hours and 0 days of A
-- remain, and B's one hour.
DELETE FROM commitopt.simulation_runs WHERE run_id IN (880001, 880002);
SELECT h.tenant_id = :'tb' AS of_b, count(*)
  FROM commitopt.simulation_hourly h
 WHERE h.tenant_id IN (:'ta', :'tb') GROUP BY 1 ORDER BY 1;
SELECT count(*) AS days_left FROM commitopt.simulation_daily d
 WHERE d.tenant_id IN (:'ta', :'tb');

-- Deleting a tenant deletes its runs and through them their rows.
DELETE FROM commitopt.tenants WHERE tenant_id = :'tb';
SELECT count(*) AS hours_left FROM commitopt.simulation_hourly h
 WHERE h.run_id = 880003;

-- Only a trigger may call the check.
SELECT pg_temp.try('SELECT commitopt.check_simulation_run()');
