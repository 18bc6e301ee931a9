#!/usr/bin/env bash
# make test: a throwaway cluster; pg_regress; then the set-up of
# 'make start' (sample data, main job, report) in that cluster; then each
# benchmark once at a tiny size so that none of them rots.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
commitopt_mode test

bash "$COMMITOPT_SRC/scripts/install-deps.sh"
bash "$COMMITOPT_SRC/scripts/cluster.sh" test destroy
trap 'bash "$COMMITOPT_SRC/scripts/cluster.sh" test destroy' EXIT

log_step "pg_regress"
status=0
bash "$COMMITOPT_SRC/scripts/regress.sh" || status=$?

log_step "the cluster's TLS, connection logging and pgaudit"
bash "$COMMITOPT_SRC/test/audit/cluster_security.sh" || status=1

log_step "no password or token in the server log"
bash "$COMMITOPT_SRC/test/audit/log_redaction.sh" || status=1

log_step "the main job on the sample data"
bash "$COMMITOPT_SRC/scripts/setup-db.sh" test
bash "$COMMITOPT_SRC/scripts/report.sh" test

log_step "AWS schedules and job runner, end to end"
bash "$COMMITOPT_SRC/test/aws/e2e.sh" test || status=1

log_step "the session reaper workers"
bash "$COMMITOPT_SRC/test/worker/session_reaper.sh" || status=1

log_step "gateway: end-to-end over TLS, every gateway run under valgrind"
bash "$COMMITOPT_SRC/test/gateway/valgrind.sh" || status=1
log_step "gateway: fuzzing its parsing code"
FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash "$COMMITOPT_SRC/test/fuzz/run.sh" || status=1

log_step "benchmarks at a tiny size"
bash "$COMMITOPT_SRC/scripts/bench.sh" --tiny test || status=1

# last: it restarts the cluster twice and crashes it once
log_step "the job runner: schedules in UTC, back-off, no free worker slot, crash"
bash "$COMMITOPT_SRC/test/worker/job_runner.sh" || status=1

exit $status
