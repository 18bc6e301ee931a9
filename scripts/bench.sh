#!/usr/bin/env bash
# bench.sh [--tiny] [main|test]: benchmarks on a generated fleet (profile
# 'bench') in the database commitopt_bench of the cluster of that mode
# (default main).  Prints the median time of a plain scan of the usage,
# the simulation, the plain-SQL formulation and the recommendation side by
# side with the goals (PASS/MISS; a MISS is reported, not a failure), and
# fails if the simulator and the plain SQL disagree on the totals.
#   full:  1,000 series, 365 days, 200 commitments, 5 runs each
#   tiny:  20 series, 31 days (the recommendation looks back 30), 8 commitments, 3 runs (seconds; keeps the
#          benchmark from rotting, run by 'make test')
# BENCH_RUNS overrides the number of runs.  Then the password, session and
# gateway benchmarks (test/bench/*_bench.sh), at the same size.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

tiny=false
mode=main
for arg in "$@"; do
	case $arg in
	--tiny) tiny=true ;;
	main | test) mode=$arg ;;
	*) echo "usage: bench.sh [--tiny] [main|test]" >&2; exit 2 ;;
	esac
done
commitopt_mode "$mode"

if $tiny; then
	series=20 days=31 commitments=8 runs=${BENCH_RUNS:-3}
else
	series=1000 days=365 commitments=200 runs=${BENCH_RUNS:-5}
fi

if [[ $mode == main ]]; then
	# As 'make start' does, minus the demo data.
	bash "$COMMITOPT_SRC/scripts/install-deps.sh"
	log_step "building the extension"
	bash "$COMMITOPT_SRC/scripts/overlay.sh"
	bash "$COMMITOPT_SRC/scripts/cluster.sh" main start
elif ! "$PGBIN/pg_isready" -q 2>/dev/null; then
	bash "$COMMITOPT_SRC/scripts/overlay.sh"
	bash "$COMMITOPT_SRC/scripts/cluster.sh" test start
fi
bash "$COMMITOPT_SRC/scripts/stage-data.sh" "$mode"

# A fresh database every time, so that the extension's SQL is the one
# just built (CREATE EXTENSION IF NOT EXISTS would keep an older one).
bench_db=commitopt_bench
log_step "creating database $bench_db"
"$PGBIN/dropdb" --if-exists "$bench_db"
"$PGBIN/createdb" "$bench_db"

log_step "benchmark ($($tiny && echo tiny || echo full) size) in $bench_db on port $COMMITOPT_PORT"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$bench_db" \
	-v datadir="$COMMITOPT_DATA" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION commitopt;
SELECT commitopt.load_reference_data(:'datadir' || '/pricing');
\i $COMMITOPT_SRC/test/bench/plain_sql_coverage.sql
\i $COMMITOPT_SRC/test/bench/bench_timing.sql
SQL
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$bench_db" \
	-v series="$series" -v days="$days" -v commitments="$commitments" \
	-v runs="$runs" -f "$COMMITOPT_SRC/test/bench/run_bench.sql"

# The other benchmarks, each printing its own figures beside its baseline.
tiny_flag=()
$tiny && tiny_flag=(--tiny)
log_step "password hashing, login and the blocklist"
bash "$COMMITOPT_SRC/test/bench/password_bench.sh" "${tiny_flag[@]}" "$mode"
log_step "an authenticated API call beside SELECT 1"
bash "$COMMITOPT_SRC/test/bench/session_bench.sh" "${tiny_flag[@]}" "$mode"
log_step "the HTTPS gateway beside pgbench"
bash "$COMMITOPT_SRC/test/bench/gateway_bench.sh" "${tiny_flag[@]}" "$mode"
