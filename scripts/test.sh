#!/usr/bin/env bash
# make test: a throwaway cluster; pg_regress; then the set-up of
# 'make start' (sample data, main job, report) in that cluster; the
# end-to-end suites; then each benchmark once at a tiny size so that none
# of them rots.  Ends with one line counting the suites that passed and
# failed; exits non-zero when any failed.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
commitopt_mode test

bash "$COMMITOPT_SRC/scripts/install-deps.sh"
bash "$COMMITOPT_SRC/scripts/cluster.sh" test destroy

passed=0
failed=0
failed_names=()
failed_logs=()

# Each suite's output is also kept, so that the closing summary can repeat
# what failed: a long run is often read from its end only.
suite_logs=$(mktemp -d)
trap 'rm -rf "$suite_logs"; bash "$COMMITOPT_SRC/scripts/cluster.sh" test destroy' EXIT

# suite NAME COMMAND...: runs one suite and counts it.  Its output goes
# through tee by process substitution, which the shell does not wait for:
# a daemon a suite leaves running may keep that pipe open.
suite() {
	local name=$1
	shift
	local log=$suite_logs/$(( passed + failed + 1 )).log
	log_step "$name"
	if "$@" > >(tee "$log") 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		failed_logs+=("$log")
	fi
}

# failure_lines LOG: the lines of a suite's output that say what failed,
# or else its last lines.
failure_lines() {
	local lines
	lines=$(grep -E 'FAIL|not ok|failed|ERROR|error:|[Pp]ermission denied|did not' "$1" |
		grep -vE '^(ok|[0-9]+ passed, 0 failed)' | tail -n 25 || true)
	[[ -n $lines ]] || lines=$(tail -n 15 "$1")
	sed 's/^/    /' <<<"$lines"
}

suite "pg_regress" bash "$COMMITOPT_SRC/scripts/regress.sh"
suite "the cluster's TLS, connection logging and pgaudit" \
	bash "$COMMITOPT_SRC/test/audit/cluster_security.sh"
suite "no password or token in the server log" \
	bash "$COMMITOPT_SRC/test/audit/log_redaction.sh"
suite "the main job on the sample data" \
	bash -c 'bash "$1/scripts/setup-db.sh" test && bash "$1/scripts/report.sh" test' _ "$COMMITOPT_SRC"
suite "AWS schedules and job runner, end to end" \
	bash "$COMMITOPT_SRC/test/aws/e2e.sh" test
suite "the session reaper workers" \
	bash "$COMMITOPT_SRC/test/worker/session_reaper.sh"
suite "gateway: end-to-end over TLS, every gateway run under valgrind" \
	bash "$COMMITOPT_SRC/test/gateway/valgrind.sh"
suite "gateway: fuzzing its parsing code" \
	env FUZZ_SECONDS="${FUZZ_SECONDS:-30}" bash "$COMMITOPT_SRC/test/fuzz/run.sh"
suite "benchmarks at a tiny size" \
	bash "$COMMITOPT_SRC/scripts/bench.sh" --tiny test
# last: it restarts the cluster twice and crashes it once
suite "the job runner: schedules in UTC, back-off, no free worker slot, crash" \
	bash "$COMMITOPT_SRC/test/worker/job_runner.sh"

echo
sleep 1  # the last tee flushes
for i in "${!failed_names[@]}"; do
	echo "failed suite: ${failed_names[$i]}"
	failure_lines "${failed_logs[$i]}"
done
echo "suites: $passed passed, $failed failed"
((failed == 0))
