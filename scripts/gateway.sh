#!/usr/bin/env bash
# gateway.sh MODE ACTION [--setting=value ...]: the HTTPS gateway of this
# checkout's 'main' or 'test' cluster.
#   build    compile gateway/commitopt-gateway if needed
#   certs    create a CA and a localhost certificate in the run directory
#            (kept if present)
#   start    build, certs, write the config, start in the background and
#            wait until it answers; extra flags are passed to the gateway
#   stop     SIGTERM and wait (graceful: requests in flight finish)
#   reload   SIGHUP (re-read certificate and key)
#   url      print the HTTPS URL
# Ports: COMMITOPT_PORT_BASE + 2 (main HTTPS), + 3 (test HTTPS), + 4 (plain
# HTTP, redirect only, test mode).  The gateway runs as 'postgres' when
# started by root: it reaches the cluster's Unix socket, which only that
# user may enter.  GATEWAY_WRAPPER (e.g. "valgrind ...") prefixes the
# command; GATEWAY_DATABASE overrides the libpq connection string.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mode=$1
action=$2
shift 2
commitopt_mode "$mode"

GW_DIR=$COMMITOPT_RUN/gateway
# Run from a copy beside the cluster: the gateway runs as 'postgres', which
# may not be able to enter the checkout.
GW_BIN=$COMMITOPT_ROOT/bin/commitopt-gateway
GW_PID=$GW_DIR/gateway.pid
GW_LOG=$GW_DIR/gateway.log
case $mode in
main) GW_PORT=$((COMMITOPT_PORT_BASE + 2)); GW_HTTP_PORT=0 ;;
test) GW_PORT=$((COMMITOPT_PORT_BASE + 3)); GW_HTTP_PORT=$((COMMITOPT_PORT_BASE + 4)) ;;
esac

build() {
	make -s -C "$COMMITOPT_SRC/gateway" commitopt-gateway
	mkdir -p "$(dirname "$GW_BIN")"
	install -m 755 "$COMMITOPT_SRC/gateway/commitopt-gateway" "$GW_BIN"
}

# A private CA and a server certificate for localhost / 127.0.0.1 (ECDSA
# P-256, SHA-256).  Clients verify with ca.crt; nobody needs -k.
certs() {
	mkdir -p "$GW_DIR"
	if [[ ! -f $GW_DIR/server.crt ]]; then
		log_step "creating a CA and a localhost certificate in $GW_DIR"
		(
			cd "$GW_DIR"
			umask 077
			openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
				-nodes -keyout ca.key -out ca.crt -days 825 -sha256 \
				-subj "/CN=commitopt local CA" \
				-addext "basicConstraints=critical,CA:TRUE" \
				-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
				-nodes -keyout server.key -out server.csr \
				-subj "/CN=localhost" 2>/dev/null
			printf '%s\n' "basicConstraints=CA:FALSE" \
				"keyUsage=critical,digitalSignature" \
				"extendedKeyUsage=serverAuth" \
				"subjectAltName=DNS:localhost,IP:127.0.0.1" > server.ext
			openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
				-CAcreateserial -out server.crt -days 365 -sha256 \
				-extfile server.ext 2>/dev/null
			rm -f server.csr server.ext
			chmod 644 ca.crt server.crt
		)
	fi
	chown -R postgres:postgres "$GW_DIR" 2>/dev/null || true
}

is_running() {
	[[ -f $GW_PID ]] && kill -0 "$(cat "$GW_PID")" 2>/dev/null
}

start() {
	build
	certs
	is_running && stop
	local db=${GATEWAY_DATABASE:-"host=$COMMITOPT_SOCKET port=$COMMITOPT_PORT dbname=$COMMITOPT_DB user=commitopt_gateway"}
	# Bind parameters (tokens, passwords) never reach the server log, and
	# no request pays for a JIT compilation (older databases of the role).
	"$PGBIN/psql" -X -q -d postgres -c \
		"DO \$\$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'commitopt_gateway') THEN ALTER ROLE commitopt_gateway SET log_parameter_max_length = 0; ALTER ROLE commitopt_gateway SET log_parameter_max_length_on_error = 0; ALTER ROLE commitopt_gateway SET jit = off; END IF; END \$\$" \
		>/dev/null 2>&1 || true
	cat > "$GW_DIR/gateway.conf" <<CONF
# written by scripts/gateway.sh $mode start
listen_address = 127.0.0.1
https_port = $GW_PORT
http_port = $GW_HTTP_PORT
public_host = localhost
cert_file = $GW_DIR/server.crt
key_file = $GW_DIR/server.key
database = "$db"
log_file = $GW_LOG
CONF
	chown postgres:postgres "$GW_DIR/gateway.conf" 2>/dev/null || true
	# The supervising runuser must not hold the caller's output open either
	# (`make start | tail` would wait for the gateway to stop): both write
	# to stderr.log, which postgres must be able to append to.
	touch "$GW_DIR/stderr.log"
	chown postgres:postgres "$GW_DIR/stderr.log" 2>/dev/null || true
	# shellcheck disable=SC2086
	as_postgres bash -c 'echo $$ > "$1"; err=$2; shift 2; exec "$@" </dev/null >>"$err" 2>&1' \
		_ "$GW_PID" "$GW_DIR/stderr.log" ${GATEWAY_WRAPPER:-} "$GW_BIN" --config="$GW_DIR/gateway.conf" "$@" \
		</dev/null >>"$GW_DIR/stderr.log" 2>&1 &
	local i
	for ((i = 0; i < 200; i++)); do
		if curl -s -o /dev/null --cacert "$GW_DIR/ca.crt" \
			"https://localhost:$GW_PORT/healthz" 2>/dev/null; then
			return 0
		fi
		if ! is_running && ((i > 5)); then break; fi
		sleep 0.1
	done
	echo "gateway did not start; see $GW_LOG and $GW_DIR/stderr.log" >&2
	tail -n 20 "$GW_DIR/stderr.log" >&2 || true
	return 1
}

stop() {
	if is_running; then
		local pid
		pid=$(cat "$GW_PID")
		kill -TERM "$pid"
		for ((i = 0; i < 400; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$GW_PID"
}

case $action in
build) build ;;
certs) certs ;;
start) start "$@" ;;
stop) stop ;;
reload) is_running && kill -HUP "$(cat "$GW_PID")" ;;
url) echo "https://localhost:$GW_PORT" ;;
*)
	echo "usage: gateway.sh main|test build|certs|start|stop|reload|url [--setting=value ...]" >&2
	exit 2
	;;
esac
