#!/usr/bin/env bash
# cluster_security.sh: checks, on the running test cluster, what
# scripts/cluster.sh configures for auditing analysts' database access:
#   - TCP only over TLS 1.2 or newer (hostssl, ssl_min_protocol_version);
#     Unix-socket connections as before
#   - connections, disconnections and pgaudit's ROLE class in the log,
#     passwords redacted; daily log files kept for 365 days
#   - verify_audit() writes the chain head to the server log, and that
#     logged head proves a later cut of the newest entries
# Exits non-zero at the first failed check.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
commitopt_mode test

role=regress_audit_tls
password="Qz7-Harbor-Lantern-$(test_secret)"
failures=0

check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok      $what"
	else
		echo "FAILED  $what"
		failures=$((failures + 1))
	fi
}

sql() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -At "$@"
}

tcp() {
	PGPASSWORD=$password "$PGBIN/psql" -X -At \
		"host=$1 port=$COMMITOPT_PORT user=$role dbname=postgres $2" \
		-c "SELECT coalesce((SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl), 'none')"
}

server_log() {
	cat "$COMMITOPT_RUN"/log/*.log
}

# The log collector writes asynchronously: wait up to 20 s for a line.
log_has() {
	for _ in $(seq 200); do
		server_log | grep -qE "$1" && return 0
		sleep 0.1
	done
	return 1
}

log_lacks() {
	! server_log | grep -qF "$1"
}

sql -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $role"
# The password must not reach the log through log_statement either.
sql -c "SET log_statement = 'none'" -c "CREATE ROLE $role LOGIN PASSWORD '$password'"
sql -c "GRANT pg_read_all_stats TO $role"
trap 'sql -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1' EXIT

no_plain_tcp() {
	local out
	out=$(tcp 127.0.0.1 sslmode=disable 2>&1) && return 1
	grep -q 'no pg_hba.conf entry .* no encryption' <<<"$out"
}
verified_tls() {
	tcp localhost "sslmode=verify-full sslrootcert=$COMMITOPT_RUN/tls/server.crt" |
		grep -qE '^TLSv1\.[23]$'
}
# The handshake alone: s_client's exit status is not the point.  An empty
# OpenSSL configuration and security level 0 let this client offer old
# protocols whatever the machine's openssl.cnf says (a MinProtocol there
# would stop the client before it asks), so that a refusal is the server's.
tls_version() {
	echo | OPENSSL_CONF=/dev/null timeout 10 openssl s_client -starttls postgres \
		-connect "127.0.0.1:$COMMITOPT_PORT" "-$1" \
		-cipher 'DEFAULT:@SECLEVEL=0' 2>&1 || true
}
# handshake_shows PROTOCOL PATTERN: whether the handshake's output has the
# pattern; if not, shows that output.
handshake_shows() {
	local out
	out=$(tls_version "$1")
	grep -qE "$2" <<<"$out" && return 0
	grep -vE '^(---|    |[A-Za-z ]+:$)' <<<"$out" | head -n 12 | sed 's/^/        /' >&2
	return 1
}
tls11_refused() {
	handshake_shows tls1_1 'alert protocol version'
}
tls12_accepted() {
	handshake_shows tls1_2 'New, TLSv1.2'
}
socket_works() {
	[[ $(sql -c 'SELECT 1') == 1 ]]
}
settings_as_configured() {
	[[ $(sql -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name)
				   FROM pg_settings
				  WHERE name IN ('ssl', 'ssl_min_protocol_version',
								 'logging_collector', 'log_filename',
								 'log_rotation_age', 'log_truncate_on_rotation',
								 'log_connections', 'log_disconnections',
								 'pgaudit.log')") == \
		'log_connections=on log_disconnections=on log_filename=postgresql-%j.log log_rotation_age=1440 log_truncate_on_rotation=on logging_collector=on pgaudit.log=role ssl=on ssl_min_protocol_version=TLSv1.2' ]]
}

check "TCP without TLS is refused (no pg_hba.conf entry)" no_plain_tcp
check "TCP over TLS 1.2+ with a verified certificate" verified_tls
check "TLS 1.1 is refused by the server" tls11_refused
check "TLS 1.2 is accepted" tls12_accepted
check "Unix-socket connections still work" socket_works
check "settings: TLS 1.2 minimum, logging, daily files kept a year" \
	settings_as_configured

sql -c "ALTER ROLE $role PASSWORD '${password}x'"
password=${password}x
sql -c "REVOKE pg_read_all_stats FROM $role"
check "pgaudit logs a password change, password redacted" \
	log_has "AUDIT: SESSION,[0-9]+,[0-9]+,ROLE,ALTER ROLE,,,ALTER ROLE $role PASSWORD <REDACTED>"
check "pgaudit logs a revoked grant" \
	log_has "AUDIT: SESSION,[0-9]+,[0-9]+,ROLE,REVOKE ROLE,,,REVOKE pg_read_all_stats FROM $role"
check "the connection of the analyst is logged, with TLS" \
	log_has "connection authorized: user=$role database=postgres .*SSL enabled \(protocol=TLSv1\.[23]"
check "the disconnection is logged" \
	log_has "disconnection: .* user=$role database=postgres host=(127\.0\.0\.1|::1)"
check "no password in the log" log_lacks "$password"

# The chain head outside the table: a tenant with three entries is
# verified (head logged), then its newest entry and the table's head are
# rewritten by a superuser; the logged head no longer verifies.
db=commitopt_audit_check
sql -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" \
	-c "CREATE DATABASE $db"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d $db -At <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION commitopt;
INSERT INTO commitopt.tenants (tenant_id, slug, name)
VALUES ('44444444-4444-4444-4444-444444444444', 'audit-log-check', 'Log check');
SELECT commitopt.audit_record('44444444-4444-4444-4444-444444444444', NULL,
	NULL, NULL, 'login.success', 'user:' || i, '{}')
  FROM generate_series(1, 3) i;
SELECT * FROM commitopt.verify_audit('44444444-4444-4444-4444-444444444444');
SQL
check "verify_audit wrote the head (entry 3) to the server log" \
	log_has "commitopt audit chain head \(verification\): tenant 44444444-4444-4444-4444-444444444444 entry 3 hash [0-9a-f]{64}"
logged=$(server_log | grep -oE "tenant 44444444-4444-4444-4444-444444444444 entry 3 hash [0-9a-f]{64}" | tail -n 1 | awk '{print $NF}')
head_verifies() {
	[[ $("$PGBIN/psql" -X -At -d $db -c "SELECT commitopt.verify_audit_head('44444444-4444-4444-4444-444444444444', 3, '$logged')") == "$1" ]]
}
table_verifies() {
	[[ $("$PGBIN/psql" -X -At -d $db -c "SELECT ok FROM commitopt.verify_audit('44444444-4444-4444-4444-444444444444')") == "$1" ]]
}
check "the logged head is the chain's head" head_verifies t
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d $db -At <<'SQL' >/dev/null
ALTER TABLE commitopt.audit_log DISABLE TRIGGER audit_log_append_only;
DELETE FROM commitopt.audit_log
 WHERE tenant_id = '44444444-4444-4444-4444-444444444444' AND entry_id = 3;
ALTER TABLE commitopt.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
UPDATE commitopt.audit_chain_heads h
   SET last_entry_id = 2, last_hash = l.entry_hash, last_at = l.at
  FROM commitopt.audit_log l
 WHERE h.tenant_id = l.tenant_id AND l.entry_id = 2
   AND h.tenant_id = '44444444-4444-4444-4444-444444444444';
SQL
check "after the cut, the table alone looks intact" table_verifies t
check "after the cut, the logged head no longer verifies" head_verifies f
sql -c "DROP DATABASE $db"

if ((failures)); then
	echo "$failures cluster security check(s) failed" >&2
	exit 1
fi
