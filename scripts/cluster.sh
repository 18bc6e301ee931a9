#!/usr/bin/env bash
# cluster.sh MODE ACTION: manages this checkout's 'main' or 'test' cluster.
#   start    create the cluster if needed (run by the postgres user), then
#            (re)start it so a freshly built extension library is loaded
#   stop     stop it if it runs
#   destroy  stop it and remove its directory
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mode=$1
action=$2
commitopt_mode "$mode"

is_running() {
	[[ -f $COMMITOPT_PGDATA/postmaster.pid ]] &&
		as_postgres "$PGBIN/pg_ctl" -D "$COMMITOPT_PGDATA" status >/dev/null 2>&1
}

create_cluster() {
	log_step "creating cluster in $COMMITOPT_PGDATA (port $COMMITOPT_PORT)"
	mkdir -p "$COMMITOPT_RUN"
	chown postgres:postgres "$COMMITOPT_RUN" 2>/dev/null || true
	chmod 755 "$COMMITOPT_RUN"
	as_postgres mkdir -p "$COMMITOPT_SOCKET"
	as_postgres chmod 700 "$COMMITOPT_SOCKET"
	as_postgres "$PGBIN/initdb" -D "$COMMITOPT_PGDATA" -U postgres \
		--auth-local=trust --auth-host=scram-sha-256 \
		--encoding=UTF8 --locale=C.UTF-8 >/dev/null
	as_postgres tee -a "$COMMITOPT_PGDATA/postgresql.conf" >/dev/null <<CONF

# commitopt local cluster ($COMMITOPT_SRC)
port = $COMMITOPT_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$COMMITOPT_SOCKET'
shared_preload_libraries = 'commitopt, pg_cron, pgaudit'
cron.database_name = '$COMMITOPT_DB'
cron.host = '$COMMITOPT_SOCKET'
timezone = 'UTC'
log_timezone = 'UTC'
password_encryption = 'scram-sha-256'
$(if [[ $mode == test ]]; then echo 'fsync = off  # throwaway test cluster'; fi)
CONF
}

# ensure_server_certificate: a self-signed certificate for TCP clients
# (hostssl), made once in the run directory, the key readable by postgres
# only, as the server requires.
ensure_server_certificate() {
	local dir=$COMMITOPT_RUN/tls
	[[ -f $dir/server.crt && -f $dir/server.key ]] && return
	log_step "generating the server's TLS certificate in $dir"
	as_postgres mkdir -p "$dir"
	as_postgres chmod 700 "$dir"
	as_postgres openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -days 825 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
		-keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
	as_postgres chmod 600 "$dir/server.key"
}

# ensure_audit_config: what analysts do in the database is recorded and
# TCP is encrypted, in clusters old and new.  The settings live in a file
# of their own, included last so that they win; pg_hba.conf accepts TCP
# only over TLS (hostssl), Unix-socket lines stay as initdb wrote them.
#   - connection logging, and pgaudit's ROLE class: CREATE/ALTER/DROP
#     ROLE, GRANT, REVOKE (pgaudit redacts passwords in role statements)
#   - the log collector writes one file per day of the year and truncates
#     it when the day comes round again: 365 (or 366) days are kept
#   - TLS 1.2 or newer only
ensure_audit_config() {
	local conf=$COMMITOPT_PGDATA/commitopt_audit.conf
	ensure_server_certificate
	as_postgres mkdir -p "$COMMITOPT_RUN/log"
	as_postgres chmod 700 "$COMMITOPT_RUN/log"
	as_postgres tee "$conf" >/dev/null <<CONF
# Written by scripts/cluster.sh at each start: edits here are lost.
shared_preload_libraries = 'commitopt, pg_cron, pgaudit'
log_connections = on
log_disconnections = on
log_line_prefix = '%m [%p] %q%u@%d from %h '
logging_collector = on
log_directory = '$COMMITOPT_RUN/log'
log_filename = 'postgresql-%j.log'
log_rotation_age = '1d'
log_rotation_size = 0
log_truncate_on_rotation = on
log_file_mode = 0600
pgaudit.log = 'role'
pgaudit.log_catalog = off
pgaudit.log_parameter = off
pgaudit.log_relation = off
ssl = on
ssl_cert_file = '$COMMITOPT_RUN/tls/server.crt'
ssl_key_file = '$COMMITOPT_RUN/tls/server.key'
ssl_min_protocol_version = 'TLSv1.2'
CONF
	if ! grep -q "^include_if_exists = 'commitopt_audit.conf'" \
		"$COMMITOPT_PGDATA/postgresql.conf"; then
		echo "include_if_exists = 'commitopt_audit.conf'" |
			as_postgres tee -a "$COMMITOPT_PGDATA/postgresql.conf" >/dev/null
	fi
	as_postgres sed -i -E 's/^host([[:space:]])/hostssl\1/' \
		"$COMMITOPT_PGDATA/pg_hba.conf"
}

# ensure_master_key: the key that wraps tenant data keys (commitopt's
# secrets at rest) lives beside the data directory, never inside it, mode
# 0600, owned by postgres; the setting naming it is added once.
ensure_master_key() {
	local key=$COMMITOPT_RUN/master.key
	if [[ ! -f $key ]]; then
		(umask 077; openssl rand -hex 32 >"$key")
		chown postgres:postgres "$key" 2>/dev/null || true
		chmod 600 "$key"
	fi
	if ! grep -q '^commitopt.master_key_file' "$COMMITOPT_PGDATA/postgresql.conf"; then
		echo "commitopt.master_key_file = '$key'" |
			as_postgres tee -a "$COMMITOPT_PGDATA/postgresql.conf" >/dev/null
	fi
}

case $action in
start)
	[[ -f $COMMITOPT_PGDATA/PG_VERSION ]] || create_cluster
	ensure_audit_config
	ensure_master_key
	if is_running; then
		as_postgres "$PGBIN/pg_ctl" -D "$COMMITOPT_PGDATA" -m fast stop >/dev/null
	fi
	as_postgres touch "$COMMITOPT_LOG"
	as_postgres "$PGBIN/pg_ctl" -D "$COMMITOPT_PGDATA" -l "$COMMITOPT_LOG" \
		-w -t 60 start >/dev/null ||
		{ tail -n 30 "$COMMITOPT_LOG" >&2; exit 1; }
	;;
stop)
	if is_running; then
		as_postgres "$PGBIN/pg_ctl" -D "$COMMITOPT_PGDATA" -m fast stop >/dev/null
		log_step "stopped the cluster on port $COMMITOPT_PORT"
	fi
	;;
destroy)
	if is_running; then
		as_postgres "$PGBIN/pg_ctl" -D "$COMMITOPT_PGDATA" -m immediate stop >/dev/null
	fi
	rm -rf "$COMMITOPT_RUN"
	;;
*)
	echo "usage: cluster.sh main|test start|stop|destroy" >&2
	exit 2
	;;
esac
