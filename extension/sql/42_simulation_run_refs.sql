-- commitopt install script, part 4.2: simulation_hourly and
-- simulation_daily rows belong to a run of simulation_runs.
--
-- This is what FOREIGN KEY (tenant_id, run_id) REFERENCES
-- simulation_runs ON DELETE CASCADE would do, at a cost per run instead of
-- per row: a run writes 8,760 hourly and ~100,000 daily rows in two
-- statements, and a foreign key looked the run up and locked it for each
-- one (most of the time simulate() spent writing).
--   - inserting or re-keying a row checks that its run exists and locks it
--     FOR KEY SHARE, once per run and command (simulation_refs.c);
--   - deleting runs deletes their rows (a statement trigger);
--   - a run's keys never change (a foreign key would refuse the change
--     while rows refer to it).
-- simulation_commitments (a few hundred rows) keeps its foreign key.

CREATE FUNCTION commitopt.check_simulation_run()
RETURNS trigger
AS 'MODULE_PATHNAME', 'commitopt_check_simulation_run'
LANGUAGE C;
COMMENT ON FUNCTION commitopt.check_simulation_run() IS
	'Trigger: the row''s (tenant_id, run_id) must name an existing simulation run';

CREATE TRIGGER simulation_hourly_run
	BEFORE INSERT OR UPDATE OF tenant_id, run_id ON commitopt.simulation_hourly
	FOR EACH ROW EXECUTE FUNCTION commitopt.check_simulation_run();
CREATE TRIGGER simulation_daily_run
	BEFORE INSERT OR UPDATE OF tenant_id, run_id ON commitopt.simulation_daily
	FOR EACH ROW EXECUTE FUNCTION commitopt.check_simulation_run();

-- Deleted runs take their hourly and daily rows with them.  Both deletes
-- use the leading (tenant_id, run_id) columns of the primary keys.
CREATE FUNCTION commitopt.delete_simulation_rows()
RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM commitopt.simulation_hourly h
	 USING deleted_runs d
	 WHERE h.tenant_id = d.tenant_id AND h.run_id = d.run_id;
	DELETE FROM commitopt.simulation_daily s
	 USING deleted_runs d
	 WHERE s.tenant_id = d.tenant_id AND s.run_id = d.run_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION commitopt.delete_simulation_rows() IS
	'Trigger: deletes the hourly and daily rows of deleted simulation runs';

CREATE TRIGGER simulation_runs_delete_rows
	AFTER DELETE ON commitopt.simulation_runs
	REFERENCING OLD TABLE AS deleted_runs
	FOR EACH STATEMENT EXECUTE FUNCTION commitopt.delete_simulation_rows();

-- A run never moves to another tenant or number: its rows would be left
-- behind.
CREATE FUNCTION commitopt.keep_simulation_run_keys()
RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
	   OR NEW.run_id IS DISTINCT FROM OLD.run_id THEN
		RAISE EXCEPTION 'simulation run % cannot change its tenant or number',
			OLD.run_id
			USING ERRCODE = 'foreign_key_violation',
				  DETAIL = 'Hourly and daily results refer to the run by these keys.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION commitopt.keep_simulation_run_keys() IS
	'Trigger: refuses changes of a simulation run''s tenant_id or run_id';

CREATE TRIGGER simulation_runs_keep_keys
	BEFORE UPDATE OF tenant_id, run_id ON commitopt.simulation_runs
	FOR EACH ROW EXECUTE FUNCTION commitopt.keep_simulation_run_keys();

-- Trigger functions only: nobody calls them directly (a trigger fires
-- without its function's EXECUTE privilege).
REVOKE ALL ON FUNCTION commitopt.check_simulation_run(),
	commitopt.delete_simulation_rows(), commitopt.keep_simulation_run_keys()
	FROM PUBLIC;
