#!/usr/bin/env bash
# session_reaper.sh: the session reaper workers, end to end, on the running
# test cluster (after scripts/setup-db.sh made the commitopt database):
#   - the supervisor waited for the missing database without failing: one
#     LOG line per server start, never an exit, then found it
#   - the reaper runs in the commitopt database and removes an ended
#     session, and only that one (bounded poll, as worker_spi's tests do)
#   - a reaper that stops unasked is started again after 10 s, then 20 s
# Prints "N passed, N failed"; exits non-zero if any check failed.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
commitopt_mode test

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

# server_log: the server log since the server's last start.
server_log() {
	cat "$COMMITOPT_RUN"/log/*.log |
		awk '/database system was (shut down|interrupted)/ { n = 0; delete l } { l[n++] = $0 }
			 END { for (i = 0; i < n; i++) print l[i] }'
}

# poll SECONDS QUERY: true once QUERY returns t, within SECONDS.
poll() {
	local secs=$1 query=$2 i
	for ((i = 0; i < secs * 2; i++)); do
		[[ $(sql -c "$query") == t ]] && return 0
		sleep 0.5
	done
	return 1
}

reaper_pid() {
	sql -c "SELECT pid FROM pg_stat_activity
			 WHERE backend_type = 'commitopt session reaper'
			   AND datname = current_database()"
}

# Rounds every second from now on (a SIGHUP setting: the reload wakes both).
sql -c "ALTER SYSTEM SET commitopt.session_reaper_interval = 1" \
	-c "SELECT pg_reload_conf()" >/dev/null

waits=$(server_log | grep -c 'commitopt session reaper waits for database "commitopt"' || true)
check "the supervisor runs" \
	poll 10 "SELECT count(*) = 1 FROM pg_stat_activity
			  WHERE backend_type = 'commitopt session reaper supervisor'"
check "the missing database was logged once since the start ($waits)" \
	test "$waits" = 1
# never restarted: it started with the server
check "the supervisor never exited" \
	test "$(sql -c "SELECT backend_start - pg_postmaster_start_time() < interval '10 s'
					  FROM pg_stat_activity
					 WHERE backend_type = 'commitopt session reaper supervisor'")" = t
check "the reaper runs in the commitopt database" \
	poll 70 "SELECT count(*) = 1 FROM pg_stat_activity
			  WHERE backend_type = 'commitopt session reaper'
			    AND datname = 'commitopt'"
check "the supervisor logged that it found the database" \
	grep -q 'commitopt session reaper found database "commitopt"' <<<"$(server_log)"

# One session of the demo administrator ended 30 min ago (max age 1 h),
# one is live.
sql <<'SQL' >/dev/null
DELETE FROM commitopt.sessions WHERE client_addr = '203.0.113.99';
INSERT INTO commitopt.sessions (tenant_id, session_id, user_id, token_hash,
								role, created_at, last_activity, client_addr)
SELECT u.tenant_id, s.id, u.user_id, sha256(convert_to(s.id::text, 'UTF8')),
	   u.role, s.at, s.at, '203.0.113.99'
  FROM commitopt.users u,
	   (VALUES ('5e550000-0000-0000-0000-00000000e11d'::uuid, now() - interval '90 minutes'),
			   ('5e550000-0000-0000-0000-0000000011fe'::uuid, now())) s(id, at)
 WHERE lower(u.email) = 'admin@demo.example';
SQL
check "two test sessions inserted" \
	test "$(sql -c "SELECT count(*) FROM commitopt.sessions WHERE client_addr = '203.0.113.99'")" = 2
check "the reaper removes the ended session within 30 s" \
	poll 30 "SELECT NOT EXISTS (SELECT FROM commitopt.sessions
			  WHERE session_id = '5e550000-0000-0000-0000-00000000e11d')"
check "the live session stays" \
	test "$(sql -c "SELECT count(*) FROM commitopt.sessions WHERE session_id = '5e550000-0000-0000-0000-0000000011fe'")" = 1

# Crash back-off: terminate the reaper; the supervisor starts a new one
# after 10 s (not before), then after 20 s for the next stop.  This needs
# the supervisor's first stop since the server started (as in make test).
old=$(reaper_pid)
if [[ -z $old ]]; then
	check "a reaper to terminate" false
	echo "$passed passed, $failed failed"
	exit 1
fi
killed_at=$(date +%s.%N)
sql -c "SELECT pg_terminate_backend($old)" >/dev/null
check "a new reaper starts after the 10 s back-off" \
	poll 20 "SELECT count(*) = 1 FROM pg_stat_activity
			  WHERE backend_type = 'commitopt session reaper' AND pid <> $old"
waited=$(sql -c "SELECT extract(epoch FROM backend_start) - $killed_at >= 9.9
				   FROM pg_stat_activity WHERE backend_type = 'commitopt session reaper'")
check "... and not before 10 s" test "$waited" = t
second=$(reaper_pid)
sql -c "SELECT pg_terminate_backend($second)" >/dev/null
sleep 1
check "the first stop backed off 10 s, the second 20 s" \
	test "$(server_log | grep -o 'commitopt session reaper stopped; starting it again in [0-9]* s' |
			grep -o '[0-9][0-9]* s$' | tr '\n' ,)" = "10 s,20 s,"
check "no reaper during the back-off" \
	test "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'commitopt session reaper'")" = 0

sql -c "DELETE FROM commitopt.sessions WHERE client_addr = '203.0.113.99'" \
	-c "ALTER SYSTEM RESET commitopt.session_reaper_interval" \
	-c "SELECT pg_reload_conf()" >/dev/null

echo "$passed passed, $failed failed"
((failed == 0))
