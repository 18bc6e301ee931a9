#!/usr/bin/env bash
# gateway_bench.sh [--tiny] [MODE]: the gateway against PostgreSQL direct.
# On MODE's cluster (default test), in a database of its own: an
# authenticated GET /v1/me through the gateway with wrk (C connections,
# gateway pool of C), beside pgbench running the same api.dispatch
# statement directly over C connections, half of its time before the
# gateway's run and half after, averaged.  Prints rates, latencies (p50,
# p99), errors, and the gateway's resident memory at 10 s and 60 s.
# Goals (printed, not asserted): gateway >= 80% of pgbench's rate, no
# errors, RSS at 60 s within 5% of RSS at 10 s.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
tiny=false
if [[ ${1:-} == --tiny ]]; then tiny=true; shift; fi
mode=${1:-test}
commitopt_mode "$mode"
conns=${BENCH_CONNECTIONS:-8}
if $tiny; then pg_secs=3; wrk_secs=4; else pg_secs=30; wrk_secs=65; fi
GW=$COMMITOPT_SRC/scripts/gateway.sh
BENCH_DB=gateway_bench
work=$(mktemp -d)
chmod 755 "$work"
was_running=false
[[ -f $COMMITOPT_RUN/gateway/gateway.pid ]] &&
	kill -0 "$(cat "$COMMITOPT_RUN/gateway/gateway.pid")" 2>/dev/null && was_running=true
cleanup() {
	rm -rf "$work"
	bash "$GW" "$mode" stop
	if $was_running; then bash "$GW" "$mode" start >/dev/null; fi
}
trap cleanup EXIT

for tool in wrk "$PGBIN/pgbench"; do
	command -v "$tool" >/dev/null || { echo "gateway bench: $tool is missing" >&2; exit 1; }
done

log_step "gateway bench: database $BENCH_DB, $conns connections"
"$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" 2>/dev/null
"$PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE $BENCH_DB"
pw="Qz#$(test_secret)-7w"
token=$("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$BENCH_DB" -v pw="$pw" <<'SQL' | tail -n 1
SET client_min_messages = warning;
SET log_min_duration_statement = -1;
CREATE EXTENSION commitopt;
SELECT FROM commitopt.create_tenant_with_admin('bench-gw', 'Gateway bench',
	'bench@gw.example', 'Ola', 'Nordmann', :'pw');
SELECT body::jsonb ->> 'token'
  FROM api.dispatch('POST', '/v1/login', '', '{"content-type": "application/json"}',
					jsonb_build_object('email', 'bench@gw.example', 'password', :'pw')::text,
					'127.0.0.1');
SQL
)
[[ -n $token ]] || { echo "gateway bench: could not log in" >&2; exit 1; }

# The statement the gateway prepares, with the headers of a wrk request.
cat >"$work/me.sql" <<SQL
SELECT d.status, h.name, h.value, d.body FROM api.dispatch('GET', '/v1/me', '', '{"host": "localhost", "authorization": "Bearer $token"}'::jsonb, NULL, '127.0.0.1'::inet) AS d LEFT JOIN LATERAL (SELECT e.key AS name, v.value FROM pg_catalog.jsonb_each(d.headers) AS e, pg_catalog.jsonb_array_elements_text(CASE WHEN pg_catalog.jsonb_typeof(e.value) = 'array' THEN e.value ELSE pg_catalog.jsonb_build_array(e.value) END) AS v(value)) AS h ON true;
SQL
chmod 644 "$work/me.sql"

# The baseline brackets the gateway's run: half of it before, half after.
# Every request adds an audit entry, so the database the gateway meets has
# grown; a baseline run only on the fresh database would flatter it.
# pgbench_run NAME: one half; its output in $work/NAME.out.
pgbench_run() {
	(cd "$work" && "$PGBIN/pgbench" -n -M prepared -c "$conns" -j 2 \
		-T $(((pg_secs + 1) / 2)) -U commitopt_gateway -l --log-prefix="pgb-$1" \
		-f me.sql "$BENCH_DB" >"$work/$1.out" 2>&1)
}
log_step "pgbench: api.dispatch direct, $conns connections, ${pg_secs} s, half before and half after the gateway"
pgbench_run before

log_step "wrk: GET /v1/me through the gateway, $conns connections, ${wrk_secs} s"
GATEWAY_DATABASE="host=$COMMITOPT_SOCKET port=$COMMITOPT_PORT dbname=$BENCH_DB user=commitopt_gateway" \
	bash "$GW" "$mode" start --pool_size="$conns" --queue_size=$((conns * 4)) >/dev/null
url=$(bash "$GW" "$mode" url)
pid=$(cat "$COMMITOPT_RUN/gateway/gateway.pid")
wrk -t2 -c "$conns" -d "${wrk_secs}s" --latency -H "Authorization: Bearer $token" \
	"$url/v1/me" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
if $tiny; then at1=1; at2=3; else at1=10; at2=60; fi
sleep "$at1"; rss1=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
sleep $((at2 - at1)); rss2=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
wait "$wrk_pid"
gw_rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/wrk.out")
gw_p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.out")
gw_p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
gw_non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$work/wrk.out")
gw_sockerr=$(sed -n 's/^ *Socket errors: *\(.*\)/\1/p' "$work/wrk.out")

bash "$GW" "$mode" stop
pgbench_run after
pg_before=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/before.out" | head -n 1)
pg_after=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/after.out" | head -n 1)
pg_tps=$(awk -v a="$pg_before" -v b="$pg_after" 'BEGIN { printf "%.1f", (a + b) / 2 }')
pg_failed=$(cat "$work/before.out" "$work/after.out" |
	sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
pg_p=$(cat "$work"/pgb-* 2>/dev/null | awk '{print $3}' | sort -n |
	awk '{a[NR]=$1} END {if (NR) printf "%.2f ms / %.2f ms", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}')

printf '\n%-34s %12s %22s %s\n' "gateway bench ($conns conns)" "req/s" "p50 / p99" "errors"
printf '%-34s %12s %22s %s\n' "pgbench, api.dispatch direct" "$pg_tps" "$pg_p" "${pg_failed:-0} failed"
printf '%-34s %12s\n' "  (before / after the gateway)" "$pg_before / $pg_after"
printf '%-34s %12s %22s %s\n' "wrk, GET /v1/me via gateway" "$gw_rps" "$gw_p50 / $gw_p99" \
	"${gw_non2xx:-0} non-2xx${gw_sockerr:+, socket errors: $gw_sockerr}"
awk -v g="$gw_rps" -v p="$pg_tps" 'BEGIN {if (p > 0) printf "gateway / pgbench rate: %.1f%% (goal >= 80%%)\n", 100 * g / p}'
awk -v a="$rss1" -v b="$rss2" -v t1="$at1" -v t2="$at2" 'BEGIN {if (a > 0) printf "gateway RSS: %d kB at %d s, %d kB at %d s: %+.1f%% (goal within 5%%)\n", a, t1, b, t2, 100 * (b - a) / a}'
