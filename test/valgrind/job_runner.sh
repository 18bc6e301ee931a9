#!/usr/bin/env bash
# job_runner.sh: the whole server under valgrind (it follows the forked
# backends and workers) on this checkout's test cluster, with the commitopt
# database of scripts/setup-db.sh, exercising extension/worker_jobs.c: the
# static runner's rounds, its back-off while commitopt.jobs is renamed, and
# commitopt.run_jobs_now() both with no worker slot free (slots = MWP, 4
# leaves none) and with slots (the one-shot worker).  Prints valgrind's
# error summary lines; exits non-zero when valgrind reports an error.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
commitopt_mode test
set +e
sql() { "$PGBIN/psql" -X -q -At -d "$COMMITOPT_DB" "$@"; }
bash "$COMMITOPT_SRC/scripts/cluster.sh" test stop >/dev/null
trap 'bash "$COMMITOPT_SRC/scripts/cluster.sh" test start >/dev/null' EXIT
rc=0
for mwp in 4 8; do
	out=$COMMITOPT_RUN/valgrind-jobs-$mwp.log
	as_postgres valgrind --quiet --leak-check=no --trace-children=yes \
		--suppressions="$(postgres_readable "$COMMITOPT_SRC/test/valgrind/postgres.supp")" \
		--log-file="$out.%p" "$PGBIN/postgres" -D "$COMMITOPT_PGDATA" \
		-c max_worker_processes=$mwp -c commitopt.jobs_naptime=1 \
		>"$COMMITOPT_RUN/valgrind-jobs-server.out" 2>&1 &
	for _ in $(seq 120); do
		[[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'commitopt job runner'" 2>/dev/null) == 1 ]] && break
		sleep 1
	done
	t=$(sql -c "SELECT tenant_id FROM commitopt.tenants ORDER BY 1 LIMIT 1")
	sql -c "DELETE FROM commitopt.jobs WHERE status IN ('queued', 'running')"
	sql -c "SELECT commitopt.enqueue_job('$t', 'recommend')" >/dev/null
	sql -c "SELECT commitopt.run_jobs_now()"
	sql -c "ALTER TABLE commitopt.jobs RENAME TO jobs_away"
	sleep 13
	sql -c "ALTER TABLE commitopt.jobs_away RENAME TO jobs"
	sql -c "SELECT commitopt.enqueue_job('$t', 'simulate')" >/dev/null
	sleep 22
	sql -c "SELECT kind, status FROM commitopt.jobs WHERE created_at > now() - interval '2 minutes' ORDER BY job_id"
	as_postgres "$PGBIN/pg_ctl" -D "$COMMITOPT_PGDATA" -m fast -w -t 120 stop >/dev/null
	wait
	echo "max_worker_processes=$mwp:"
	echo "  $(ls "$out".* | wc -l) valgrind logs (one per process), $(cat "$out".* | grep -c "^==[0-9]*== [A-Z]") error lines"
	cat "$out".* | grep -E "^==[0-9]*== [A-Z]" | sort | uniq -c | head -20
	if cat "$out".* | grep -qE "^==[0-9]*== [A-Z]"; then rc=1; fi
	rm -f "$out".*
done
grep -E "commitopt job runner (could not|runs jobs again)" "$COMMITOPT_RUN"/log/*.log | tail -4
exit $rc
