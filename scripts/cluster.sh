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

as_postgres() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

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
shared_preload_libraries = 'commitopt, pg_cron'
cron.database_name = '$COMMITOPT_DB'
cron.host = '$COMMITOPT_SOCKET'
timezone = 'UTC'
log_timezone = 'UTC'
password_encryption = 'scram-sha-256'
$(if [[ $mode == test ]]; then echo 'fsync = off  # throwaway test cluster'; fi)
CONF
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
