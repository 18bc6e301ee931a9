#!/usr/bin/env bash
# log_redaction.sh: no password or session token reaches the server log of
# the running test cluster (FC-10 item 4).  Provokes the statements a
# hostile tester found in the log, each carrying a secret as a literal:
#   - reset_password by a disabled administrator
#   - create_user with an e-mail address already in use
#   - change_password with a wrong current password (and a new one)
#   - CREATE ROLE of a role that exists, ALTER ROLE of one that does not,
#     ALTER ROLE ... VALID UNTIL 'garbage'
#   - a JSON literal with a password, refused by jsonb after it (\u0000)
# first with the cluster's logging settings, then again with
# log_statement = 'all' and log_min_duration_statement = 0; then, with
# those settings, a console login through api.dispatch (simple protocol)
# and requests carrying the session token it returned (simple protocol,
# and extended protocol with the token as a bind parameter).  Then it
# searches every log file of the cluster for each secret: 0 matches.
# Controls prove the search can fail: a literal of a statement with no
# secret, logged under log_statement = 'all', must be found, and so must
# the redaction marker.  Prints "N passed, N failed"; exits non-zero on a
# failure.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
commitopt_mode test

db=commitopt_log_redaction
role=regress_log_redaction_bob4
run=$(test_secret 12)
# Every secret is unique to this run, so old log lines cannot mask a leak.
reset_pw="Pp5%tempTemp-$run"
dup_user_pw="Dup#User7-$run"
wrong_current_pw="Wr0ng#Current-$run"
new_pw="N3w#Chosen-$run"
role_pw="Role#First1-$run"
dup_role_pw="Dup#Role9xyz-$run"
missing_role_pw="Miss#Role4-$run"
garbage_pw="Garb#Age5-$run"
login_pw="L0gin#Console-$run"
prepared_pw="Prep#Ared6-$run"
json_pw="Js0n#Escape7-$run"
control="logredaction-control-$run"
secrets=(reset_pw dup_user_pw wrong_current_pw new_pw role_pw dup_role_pw
	missing_role_pw garbage_pw login_pw prepared_pw json_pw)
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

# q [psql options]: psql on the test database; the errors provoked are
# expected, and shown.
# The logging settings of the session come from $pgopts (PGOPTIONS).
pgopts=
q() {
	PGOPTIONS=$pgopts "$PGBIN/psql" -X -q -At -d "$db" "$@" 2>&1 || true
}

log_files() {
	find "$COMMITOPT_RUN/log" -type f -name '*.log' -print
	[[ -f $COMMITOPT_LOG ]] && echo "$COMMITOPT_LOG"
}

# The log collector writes asynchronously: wait up to 10 s for a string.
log_has() {
	for _ in $(seq 100); do
		log_files | xargs -r grep -qF -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

log_lacks() {
	! log_files | xargs -r grep -qF -- "$1"
}

"$PGBIN/psql" -X -q -d postgres -v ON_ERROR_STOP=1 \
	-c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $db" \
	-c "CREATE DATABASE $db" \
	-c "SET log_statement = 'none'" \
	-c "DROP ROLE IF EXISTS $role" \
	-c "CREATE ROLE $role LOGIN PASSWORD '$role_pw'"
trap '"$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" \
	-c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1' EXIT

# Two administrators (one of them then disabled) and a member.  Set-up
# passwords come in through psql variables but still as literals: they
# are secrets too, and the search covers them (setup_pw).
setup_pw="Set#Up-Adm1n-$run"
secrets+=(setup_pw)
"$PGBIN/psql" -X -q -At -d "$db" -v ON_ERROR_STOP=1 -v pw="$setup_pw" <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION commitopt;
SET commitopt.password_hash_memory = 64;
SET commitopt.password_hash_iterations = 1;
SELECT commitopt.create_tenant_with_admin('logred', 'Log redaction',
	'ada@logred.example', 'Ada', 'Quill', :'pw') AS a1 \gset
SELECT commitopt.create_user(:'a1', 'bea@logred.example', 'Bea', 'Stone',
	'admin', :'pw') AS a2 \gset
SELECT commitopt.create_user(:'a1', 'cyd@logred.example', 'Cyd', 'Marsh',
	'member', :'pw') AS m \gset
SELECT commitopt.disable_user(:'a2', :'a1');
UPDATE commitopt.users SET must_change_password = false;
SQL
ids=$(q -c "SELECT string_agg(user_id::text, ' ' ORDER BY email) FROM commitopt.users")
read -r a1 a2 m <<<"$ids"

# provoke: each failing statement once.
provoke() {
	q -c "SET commitopt.password_hash_memory = 64" \
		-c "SET commitopt.password_hash_iterations = 1" \
		-c "SELECT commitopt.reset_password('$a1', '$m', '$reset_pw')"
	q -c "SELECT commitopt.create_user('$a2', 'CYD@logred.example', 'Cy', 'Marsh', 'member', '$dup_user_pw')"
	q -c "SET commitopt.password_hash_memory = 64" \
		-c "SET commitopt.password_hash_iterations = 1" \
		-c "SELECT commitopt.change_password('$m', '$wrong_current_pw', '$new_pw')"
	q -c "create role $role login password '$dup_role_pw'"
	q -c "alter role regress_log_redaction_nonexistent password '$missing_role_pw'"
	q -c "alter role $role password '$garbage_pw' valid until 'garbage'"
	# a prepared statement whose EXECUTE fails while its arguments are
	# evaluated: the EXECUTE's own text names no secret marker
	# a JSON document that jsonb refuses after the password (\u0000):
	# the parser's context line quotes the document up to that point
	q -c "SELECT '{\"password\": \"$json_pw\", \"x\": \"\\u0000\"}'::jsonb"
	q -c "PREPARE chk(text) AS SELECT * FROM commitopt.password_check(\$1, 'a', 'b', 'c@d.example', NULL)" \
		-c "EXECUTE chk('$prepared_pw' || (1 / 0)::text)"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; "$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" \
	-c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1' EXIT
cat >"$tmp/me.sql" <<'SQL'
SELECT status FROM api.dispatch('GET', '/v1/me', '', jsonb_build_object('authorization', 'Bearer ' || :tok), NULL, '192.0.2.7');
SQL

# bench SETTINGS MODE TOKEN: one request by pgbench, the token a bind
# parameter.
bench() {
	PGOPTIONS="$1" "$PGBIN/pgbench" -n -M "$2" -t 1 -D tok="$3" \
		-f "$tmp/me.sql" "$db" >"$tmp/bench.out" 2>&1 &&
		grep -q '^number of failed transactions: 0 ' "$tmp/bench.out"
}

# login_round NAME SETTINGS: a console login through api.dispatch, then
# requests with the token it returned, under the given settings; the
# token is kept in the variable NAME, a secret to search for.
login_round() {
	local name=$1 settings=$2 token me

	pgopts=$settings
	token=$(q -c "SET commitopt.password_hash_memory = 64" \
		-c "SET commitopt.password_hash_iterations = 1" \
		-c "UPDATE commitopt.users SET password_hash = commitopt.password_hash('$login_pw') WHERE user_id = '$m'" \
		-c "SELECT d.body::jsonb ->> 'token' FROM api.dispatch('POST', '/v1/login', '', '{}', '{\"email\": \"cyd@logred.example\", \"password\": \"$login_pw\"}', '192.0.2.7') d" |
		tail -n 1)
	check "the login returns a token ($settings)" \
		eval '[[ $token =~ ^[A-Za-z0-9_-]{43}$ ]]'
	printf -v "$name" '%s' "$token"
	secrets+=("$name")
	me=$(q -c "SELECT d.status FROM api.dispatch('GET', '/v1/me', '', jsonb_build_object('authorization', 'Bearer $token'), NULL, '192.0.2.7') d" | tail -n 1)
	check "the token authenticates a request, simple protocol ($settings): $me" \
		test "$me" = 200
	for mode in extended prepared; do
		check "the token as a bind parameter, -M $mode ($settings)" \
			bench "$settings" "$mode" "$token"
	done
	pgopts=
}

all="-c log_statement=all -c log_min_duration_statement=0"
durations="-c log_statement=none -c log_min_duration_statement=0"

echo "-- the failing statements, as the cluster logs by default"
provoke
for pgopts in "$all" "$durations"; do
	echo "-- again with $pgopts"
	provoke
done
pgopts=$all
q -c "SELECT '$control' AS control"
pgopts=

echo "-- console logins through api.dispatch, then requests with the token"
login_round token_all "$all"
login_round token_durations "$durations"

echo "-- the log"
check "the control statement is in the log" log_has "$control"
check "the redaction marker is in the log" log_has "<redacted: the statement may contain a secret>"
check "PostgreSQL's own error is in the log" log_has "role \"$role\" already exists"
for s in "${secrets[@]}"; do
	check "no log line contains the $s" log_lacks "${!s}"
done

echo "$passed passed, $failed failed"
((failed == 0))
