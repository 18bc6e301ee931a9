#!/usr/bin/env bash
# simulate.sh: the backend under valgrind in single-user mode (postgres
# --single) on this checkout's test cluster (stopped for the run, started
# again afterwards), exercising simulate_sql.c, simulator.c and
# simulation_refs.c on a small generated fleet: a simulation, a second
# one replacing it (the delete of the earlier run and its rows), a what-if
# run, and a refused row of a missing run.  Prints valgrind's summary;
# exits non-zero when valgrind reports an error.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
commitopt_mode test
db=vgsim
out=$COMMITOPT_RUN/valgrind-simulate.log
bash "$COMMITOPT_SRC/scripts/cluster.sh" test start >/dev/null
bash "$COMMITOPT_SRC/scripts/stage-data.sh" test >/dev/null
"$PGBIN/dropdb" --if-exists "$db"
"$PGBIN/createdb" "$db"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" -v datadir="$COMMITOPT_DATA" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION commitopt;
SELECT commitopt.load_reference_data(:'datadir' || '/pricing');
SELECT commitopt.ensure_tenant('vg', 'Valgrind fleet');
SELECT commitopt.generate_synthetic_fleet(commitopt.tenant_id('vg'), 20, 31, 8,
										  0.42, '2025-01-01 00:00+00', 'bench');
SQL
set +e
bash "$COMMITOPT_SRC/scripts/cluster.sh" test stop >/dev/null
trap 'bash "$COMMITOPT_SRC/scripts/cluster.sh" test start >/dev/null' EXIT
# one statement per line: single-user mode reads up to each newline
as_postgres valgrind --quiet --error-exitcode=3 --leak-check=no \
	--suppressions="$(postgres_readable "$COMMITOPT_SRC/test/valgrind/postgres.supp")" \
	--trace-children=no --log-file="$out" \
	"$PGBIN/postgres" --single -D "$COMMITOPT_PGDATA" "$db" <<'SQL' >"$COMMITOPT_RUN/valgrind-simulate.out" 2>&1
SET client_min_messages = debug1;
SELECT commitopt.simulate(commitopt.tenant_id('vg'));
SELECT commitopt.simulate(commitopt.tenant_id('vg'));
SELECT count(*) FROM commitopt.simulation_daily;
SELECT * FROM commitopt.simulate_with_extra_compute_sp(commitopt.tenant_id('vg'), '2025-01-01', '2025-01-31', 1.5, 1);
INSERT INTO commitopt.simulation_daily SELECT tenant_id, 999999, day, account_id, region, family, usage_hours, usage_nu, ode, ri_covered_hours, ri_covered_nu, ri_covered_ode, sp_covered_hours, sp_covered_nu, sp_covered_ode, od_cost, ri_cost, ri_unused_cost, sp_cost, sp_used, ri_purchased_hours, ri_used_hours, ri_purchased_nu, ri_used_nu FROM commitopt.simulation_daily LIMIT 1;
SQL
rc=$?
grep -E "^\s+[0-9]+: |ERROR|simulate:" "$COMMITOPT_RUN/valgrind-simulate.out"
cat "$out"
echo "valgrind-simulate: postgres --single exited $rc ($(wc -l < "$out") lines of valgrind output, in $out)"
exit $rc
