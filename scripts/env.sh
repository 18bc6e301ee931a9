# Sourced by the other scripts: names every path and port of this checkout.
#
# Two checkouts on one machine must not collide, so the run directory and
# the ports derive from a hash of the checkout's absolute path.  The run
# directory lives under /var/tmp because the server runs as 'postgres',
# which may not be able to enter the checkout (CI clones under /root).

set -euo pipefail

COMMITOPT_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
COMMITOPT_KEY=$(printf '%s' "$COMMITOPT_SRC" | sha1sum | cut -c1-8)
COMMITOPT_ROOT=/var/tmp/commitopt-$COMMITOPT_KEY
# A private installation tree: the system's PostgreSQL files linked in,
# this checkout's extension built into it (see scripts/overlay.sh).
COMMITOPT_PGROOT=$COMMITOPT_ROOT/pg
PGBIN=$COMMITOPT_PGROOT/usr/lib/postgresql/15/bin
SYSTEM_PGBIN=/usr/lib/postgresql/15/bin
COMMITOPT_DB=commitopt

# 20000..27995 in steps of 5: main cluster, test cluster, gateway ports.
COMMITOPT_PORT_BASE=$(( 20000 + (0x${COMMITOPT_KEY:0:6} % 1600) * 5 ))

# commitopt_mode MODE: sets the per-cluster variables for 'main' or 'test'.
commitopt_mode() {
	case "$1" in
	main) COMMITOPT_PORT=$COMMITOPT_PORT_BASE ;;
	test) COMMITOPT_PORT=$(( COMMITOPT_PORT_BASE + 1 )) ;;
	*) echo "unknown cluster mode: $1" >&2; return 2 ;;
	esac
	COMMITOPT_RUN=$COMMITOPT_ROOT/$1
	COMMITOPT_PGDATA=$COMMITOPT_RUN/pgdata
	COMMITOPT_SOCKET=$COMMITOPT_RUN/socket
	COMMITOPT_LOG=$COMMITOPT_RUN/postgresql.log
	# Files the server reads (sample data, fixtures) are copied here.
	COMMITOPT_DATA=$COMMITOPT_RUN/data
	export PGHOST=$COMMITOPT_SOCKET PGPORT=$COMMITOPT_PORT PGUSER=postgres
	export COMMITOPT_DATA
}

# psql_db: psql on the commitopt database, stopping at the first error.
psql_db() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$COMMITOPT_DB" "$@"
}

# as_postgres COMMAND...: runs COMMAND as the 'postgres' user when run by
# root (PostgreSQL refuses to run as root), from /, since that user may not
# be able to enter the current directory.
as_postgres() {
	if [[ $(id -u) -eq 0 ]]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# postgres_readable FILE: a copy of FILE that the postgres user can read
# (the checkout may lie in a directory only root can enter); prints its
# path.  Needs commitopt_mode first.
postgres_readable() {
	local dir=$COMMITOPT_RUN/from-checkout
	mkdir -p "$dir"
	chmod 755 "$COMMITOPT_RUN" "$dir"
	install -m 644 "$1" "$dir/$(basename "$1")"
	printf '%s\n' "$dir/$(basename "$1")"
}

# test_secret [LENGTH]: a random string for the passwords tests make up.
# Its letters (q, x, z, j, k, w, v in either case) form no name, e-mail or
# role name piece of the tests, even read as look-alikes, so the password
# policy's personal-data rule never refuses it by chance, as random hex
# digits can ("715" reads "tls").
test_secret() {
	openssl rand -base64 600 | tr -dc 'qxzjkwvQXZJKWV' | cut -c1-"${1:-20}"
}

log_step() {
	printf '==> %s\n' "$*"
}
