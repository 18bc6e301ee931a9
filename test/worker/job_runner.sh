#!/usr/bin/env bash
# job_runner.sh: the job runner (extension/worker_jobs.c) and its schedules
# against field cases FC-13 and FC-14, end to end, on the running test
# cluster after scripts/setup-db.sh made the commitopt database (where
# pg_cron lives).  It restarts the cluster twice and crashes it once, so
# scripts/test.sh runs it last.
#   FC-13  schedules are UTC only and say so; schedule_health() flags a
#          commitopt job registered in another database
#   FC-14  (3) with commitopt.jobs renamed, the runner retries after 10 s,
#              then 20 s (one log line each, never a tight loop, never
#              exiting) and runs jobs again by itself once the table is back
#          (4) with no background worker slot free, run_jobs_now() warns,
#              does not fail, and the queued job is run later by the runner
#          (2) kill -SEGV on the runner: crash recovery, then the runner is
#              back under a new pid (bounded poll)
#          a job left running by a dead backend is queued again and run
# ((1), pg_terminate_backend, is in test/aws/e2e.sh.)
# Prints "N passed, N failed"; exits non-zero if any check failed.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
commitopt_mode test
set +e

passed=0
failed=0

check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok      $what"
		passed=$((passed + 1))
	else
		echo "FAILED  $what"
		failed=$((failed + 1))
	fi
}

sql() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$COMMITOPT_DB" -At "$@"
}

# poll SECONDS QUERY: true once QUERY returns t, within SECONDS.
poll() {
	local secs=$1 query=$2 i
	for ((i = 0; i < secs * 2; i++)); do
		[[ $(sql -c "$query" 2>/dev/null) == t ]] && return 0
		sleep 0.5
	done
	return 1
}

runner_pid() {
	sql -c "SELECT pid FROM pg_stat_activity
			 WHERE backend_type = 'commitopt job runner'
			   AND datname = '$COMMITOPT_DB'" 2>/dev/null
}

# log_since EPOCH PATTERN: the server log lines matching PATTERN whose
# time stamp (log_line_prefix starts with %m, in UTC) is not before EPOCH,
# each prefixed by its time as epoch seconds.
log_since() {
	local since=$1 pattern=$2 line stamp
	cat "$COMMITOPT_RUN"/log/*.log | grep -E -- "$pattern" |
		while IFS= read -r line; do
			stamp=$(date -d "${line:0:27}" +%s.%N 2>/dev/null) || continue
			awk -v a="$stamp" -v b="$since" 'BEGIN { exit !(a >= b) }' &&
				echo "$stamp $line"
		done
}

# between X LO HI: true when LO <= X < HI (decimals).
between() {
	awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x < hi) }'
}

restart_cluster() {
	bash "$COMMITOPT_SRC/scripts/cluster.sh" test start
}

# --- FC-13: UTC only, and the right database ----------------------------
check "schedule_defaults() returns UTC schedules only" \
	test "$(sql -c "SELECT count(*) > 0 AND bool_and(time_zone = 'UTC')
					  FROM commitopt.schedule_defaults()")" = t
check "schedule_defaults() is documented as UTC only" \
	test "$(sql -c "SELECT obj_description('commitopt.schedule_defaults()'::regprocedure)
					  LIKE '%UTC only%'")" = t
check "pg_cron reads the schedules in GMT/UTC" \
	test "$(sql -c "SELECT bool_and(ok AND time_zone IN ('GMT', 'UTC'))
					  FROM commitopt.schedule_health()")" = t
# a commitopt job registered in another database (plain cron.schedule from
# a session whose cron.database_name differs would do this)
sql -c "SELECT cron.schedule_in_database('commitopt-wrong-db', '0 1 * * *',
										 'SELECT 1', 'postgres')" >/dev/null
check "schedule_health() flags a job of another database" \
	test "$(sql -c "SELECT database || ' ' || ok FROM commitopt.schedule_health()
					 WHERE jobname = 'commitopt-wrong-db'")" = "postgres false"
check "... and only that one" \
	test "$(sql -c "SELECT count(*) FROM commitopt.schedule_health() WHERE NOT ok")" = 1
sql -c "SELECT cron.unschedule('commitopt-wrong-db')" >/dev/null

# --- the runner runs ------------------------------------------------------
# it retries 10 s doubling to 60 s while the database was missing
check "the job runner is running" \
	poll 90 "SELECT count(*) = 1 FROM pg_stat_activity
			  WHERE backend_type = 'commitopt job runner' AND datname = current_database()"
tenant=$(sql -c "SELECT tenant_id FROM commitopt.tenants ORDER BY tenant_id LIMIT 1")
sql -c "DELETE FROM commitopt.jobs WHERE status IN ('queued', 'running')" >/dev/null

# --- FC-14 (3): a table the runner needs is missing -----------------------
# Rounds every second while healthy (a reload wakes the runner).
sql -c "ALTER SYSTEM SET commitopt.jobs_naptime = 1" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
pid=$(runner_pid)
start=$(date +%s.%N)
sql -c "ALTER TABLE commitopt.jobs RENAME TO jobs_away" >/dev/null
pat='commitopt job runner could not run jobs, trying again in [0-9]+ s: .*jobs'
# attempts at t, t + 10 s, t + 30 s; wait for the third, bounded
for _ in $(seq 80); do
	[[ $(log_since "$start" "$pat" | wc -l) -ge 3 ]] && break
	sleep 0.5
done
sleep 2
lines=$(log_since "$start" "$pat")
echo "$lines" | sed 's/^[^ ]* /    log: /'
waits=$(grep -oE 'trying again in [0-9]+ s' <<<"$lines" | grep -oE '[0-9]+' | tr '\n' ,)
check "the failures back off 10 s, 20 s, 40 s (one log line each): $waits" \
	test "$waits" = "10,20,40,"
t1=$(awk 'NR == 1 { print $1 }' <<<"$lines")
t2=$(awk 'NR == 2 { print $1 }' <<<"$lines")
t3=$(awk 'NR == 3 { print $1 }' <<<"$lines")
gap1=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
gap2=$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')
check "the second attempt came 10 s after the first ($gap1 s)" between "$gap1" 9.9 12
check "the third attempt came 20 s after the second ($gap2 s)" between "$gap2" 19.9 22
check "the runner never exited meanwhile" test "$(runner_pid)" = "$pid"
# the table comes back; a job queued now is run at the next attempt
# (t3 + 40 s), by the same runner
sql -c "ALTER TABLE commitopt.jobs_away RENAME TO jobs" >/dev/null
job=$(sql -c "SELECT commitopt.enqueue_job('$tenant', 'simulate')")
check "once the table is back the runner runs the job by itself" \
	poll 60 "SELECT status = 'succeeded' FROM commitopt.jobs WHERE job_id = $job"
back=$(log_since "$start" 'commitopt job runner runs jobs again' | awk 'NR == 1 { print $1 }')
gap3=$(awk -v a="$t3" -v b="${back:-0}" 'BEGIN { print b - a }')
check "... at the fourth attempt, 40 s after the third ($gap3 s)" between "$gap3" 39.9 43
check "three failed attempts, no more" \
	test "$(log_since "$start" "$pat" | wc -l)" = 3
check "the same runner throughout" test "$(runner_pid)" = "$pid"

# --- a job left running by a backend that is gone -------------------------
# pid 0 is never a backend: as if its runner had crashed mid-job.
job=$(sql -c "INSERT INTO commitopt.jobs (tenant_id, kind, status, attempts,
										   started_at, claimed_by)
			  VALUES ('$tenant', 'recommend', 'running', 1, now(), 0)
			  RETURNING job_id")
check "a job orphaned by a dead runner is queued again and run" \
	poll 30 "SELECT status = 'succeeded' AND attempts = 2 FROM commitopt.jobs
			  WHERE job_id = $job"

# --- FC-14 (4): no background worker slot free ----------------------------
# As many slots as static workers: none left for dynamic ones.
static=$(sql -c "SELECT count(*) FROM pg_stat_activity
				  WHERE backend_type IN ('logical replication launcher', 'pg_cron launcher',
										 'commitopt job runner',
										 'commitopt session reaper supervisor')")
sql -c "ALTER SYSTEM SET max_worker_processes = $static" >/dev/null
before4=$(date +%s.%N)
restart_cluster
since4=$(date +%s.%N)
check "the runner starts with $static worker slots" \
	poll 30 "SELECT count(*) = 1 FROM pg_stat_activity
			  WHERE backend_type = 'commitopt job runner' AND datname = current_database()"
pid=$(runner_pid)
# let the runner nap an hour, so that only run_jobs_now() could run the job
sql -c "ALTER SYSTEM SET commitopt.jobs_naptime = 3600" -c "SELECT pg_reload_conf()" >/dev/null
sleep 2
job=$(sql -c "SELECT commitopt.enqueue_job('$tenant', 'simulate')")
out=$(sql -c "SELECT commitopt.run_jobs_now()" 2>&1)
rc=$?
echo "$out" | sed 's/^/    run_jobs_now: /'
check "run_jobs_now() without a free slot does not fail" test "$rc" = 0
check "... it warns that the jobs stay queued" \
	grep -q 'WARNING:  could not start a commitopt job worker: no background worker slot is free after 3 attempts' <<<"$out"
check "... and the job is still queued" \
	test "$(sql -c "SELECT status FROM commitopt.jobs WHERE job_id = $job")" = queued
# the runner's next round (a shorter nap, woken by the reload) runs it
sql -c "ALTER SYSTEM SET commitopt.jobs_naptime = 1" -c "SELECT pg_reload_conf()" >/dev/null
check "the job is not lost: the runner runs it later" \
	poll 60 "SELECT status = 'succeeded' FROM commitopt.jobs WHERE job_id = $job"
check "the runner did not exit" test "$(runner_pid)" = "$pid"
check "no FATAL in the server log since the restart" \
	test "$(log_since "$since4" 'FATAL' | wc -l)" = 0
check "the session reaper supervisor, short of a slot too, only logged it" \
	test "$(log_since "$before4" 'commitopt session reaper could not start: no background worker slot is free' | wc -l)" -ge 1
sql -c "ALTER SYSTEM RESET max_worker_processes" >/dev/null
restart_cluster

# --- FC-14 (2): kill -SEGV on the runner ----------------------------------
poll 30 "SELECT count(*) = 1 FROM pg_stat_activity
		  WHERE backend_type = 'commitopt job runner' AND datname = current_database()"
old=$(runner_pid)
crashed=$(date +%s.%N)
if [[ -n $old ]]; then
	kill -SEGV "$old"
fi
check "the runner crashed (signal 11) and the server restarted all backends" \
	poll 30 "SELECT true"
sleep 1
check "... the server logged the crash" \
	test "$(log_since "$crashed" "terminated by signal 11" | grep -c 'commitopt job runner')" -ge 1
check "the runner is back under a new pid after crash recovery" \
	poll 60 "SELECT count(*) = 1 FROM pg_stat_activity
			  WHERE backend_type = 'commitopt job runner'
			    AND datname = current_database() AND pid <> ${old:-0}"
job=$(sql -c "SELECT commitopt.enqueue_job('$tenant', 'simulate')")
check "... and runs jobs" \
	poll 60 "SELECT status = 'succeeded' FROM commitopt.jobs WHERE job_id = $job"

sql -c "ALTER SYSTEM RESET commitopt.jobs_naptime" -c "SELECT pg_reload_conf()" >/dev/null

echo "$passed passed, $failed failed"
((failed == 0))
