#!/usr/bin/env bash
# test/aws/e2e.sh MODE: end-to-end checks of commitopt's schedules and job
# runner in the 'commitopt' database of a running cluster (where pg_cron
# lives, cron.database_name = commitopt): the schedules registered by
# commitopt.schedule_defaults() (UTC, this database: FC-13), running what
# they queue through the static job runner, and the runner coming back
# after it is terminated (FC-14).  Prints "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
commitopt_mode "${1:-test}"
set +e

passed=0
failed=0
check() {
	local name=$1 want=$2 got=$3
	if [[ $got == "$want" ]]; then
		passed=$((passed + 1))
		echo "ok - $name"
	else
		failed=$((failed + 1))
		echo "not ok - $name: wanted '$want', got '$got'"
	fi
}
q() {
	"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$COMMITOPT_DB" -c "$1" 2>&1
}

# Schedules: registered in this database, UTC expressions, twice = same.
q "SELECT commitopt.schedule_defaults()" >/dev/null
q "SELECT commitopt.schedule_defaults()" >/dev/null
check "schedules registered once each" \
	"$(q "SELECT count(*) FROM cron.job WHERE jobname LIKE 'commitopt-%' GROUP BY jobname HAVING count(*) > 1" | wc -l)" 0
check "sync every 6 hours, UTC" "0 */6 * * *" \
	"$(q "SELECT schedule FROM cron.job WHERE jobname = 'commitopt-sync'")"
check "simulate daily" "15 2 * * *" \
	"$(q "SELECT schedule FROM cron.job WHERE jobname = 'commitopt-simulate'")"
check "recommend daily" "45 2 * * *" \
	"$(q "SELECT schedule FROM cron.job WHERE jobname = 'commitopt-recommend'")"
check "audit retention scheduled iff commitopt.audit_retention exists" \
	"$(q "SELECT (to_regproc('commitopt.audit_retention') IS NOT NULL)::int")" \
	"$(q "SELECT count(*) FROM cron.job WHERE jobname = 'commitopt-audit-retention'")"
check "every schedule runs in the commitopt database" "t" \
	"$(q "SELECT bool_and(ok) FROM commitopt.schedule_health()")"
check "cron.timezone is GMT/UTC (schedules are UTC)" "GMT" \
	"$(q "SELECT CASE WHEN current_setting('cron.timezone', true) IN ('GMT', 'UTC', 'Etc/UTC') OR current_setting('cron.timezone', true) IS NULL THEN 'GMT' ELSE current_setting('cron.timezone') END")"

# Run what the schedules queue (their commands, as cron would), twice:
# the second time queues nothing new while the first jobs are open.
q "DELETE FROM commitopt.jobs WHERE status = 'queued'" >/dev/null
for cmd in "$(q "SELECT command FROM cron.job WHERE jobname IN ('commitopt-simulate', 'commitopt-recommend')")"; do
	while IFS= read -r line; do
		[[ -n $line ]] && q "$line" >/dev/null && q "$line" >/dev/null
	done <<<"$cmd"
done
tenants=$(q "SELECT count(*) FROM commitopt.tenants")
check "one simulate and one recommend job per tenant" "$((2 * tenants))" \
	"$(q "SELECT count(*) FROM commitopt.jobs WHERE status IN ('queued', 'running', 'succeeded') AND created_at > now() - interval '1 minute'")"

# The static runner picks them up (it naps up to commitopt.jobs_naptime).
runner_pid() {
	q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'commitopt job runner' AND datname = '$COMMITOPT_DB'"
}
# It may still be in its back-off if it started before the database
# existed (it retries 10 s, doubling to 60 s): wait for it, bounded.
for _ in $(seq 90); do
	[[ -n $(runner_pid) ]] && break
	sleep 1
done
check "the job runner is running" "1" "$(runner_pid | grep -c .)"
for _ in $(seq 60); do
	open=$(q "SELECT count(*) FROM commitopt.jobs WHERE status IN ('queued', 'running') AND run_after <= now()")
	[[ $open == 0 ]] && break
	sleep 1
done
check "the runner ran every due job" "0" "$open"
check "every scheduled job succeeded" "0" \
	"$(q "SELECT count(*) FROM commitopt.jobs WHERE status <> 'succeeded' AND created_at > now() - interval '5 minutes'")"

# FC-14 (1): terminated, it is back under a new pid within 10 s + 5 s.
old=$(runner_pid)
q "SELECT pg_terminate_backend($old)" >/dev/null
new=""
for _ in $(seq 15); do
	sleep 1
	new=$(runner_pid)
	[[ -n $new && $new != "$old" ]] && break
done
check "the runner restarts after pg_terminate_backend" "yes" \
	"$([[ -n $new && $new != "$old" ]] && echo yes || echo "no (pid '$new')")"

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
