#!/usr/bin/env bash
# End-to-end tests of the HTTPS gateway over real TLS (curl and openssl
# s_client verify against the generated CA; never -k), on this checkout's
# test cluster.  Part A runs against a stand-in api.dispatch in its own
# database (test/gateway/fake_dispatch.sql) to drive limits, failures and
# timeouts; part B runs the session routes of the real commitopt database
# when api.dispatch exists there.  Prints "N passed, N failed"; exits
# non-zero on any failure.  GATEWAY_WRAPPER="valgrind ..." runs the gateway
# under a tool.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
set +e
commitopt_mode test

GW=$COMMITOPT_SRC/scripts/gateway.sh
RAW="python3 $COMMITOPT_SRC/test/gateway/raw.py"
GW_DIR=$COMMITOPT_RUN/gateway
CA=$GW_DIR/ca.crt
PORT=$((COMMITOPT_PORT_BASE + 3))
HTTP_PORT=$((COMMITOPT_PORT_BASE + 4))
URL=https://localhost:$PORT
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FAKE_DB="host=$COMMITOPT_SOCKET port=$COMMITOPT_PORT dbname=gateway_e2e user=commitopt_gateway"
passed=0
failed=0

ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
not_ok() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; [[ -n ${2:-} ]] && printf '     %s\n' "$2"; }
# check NAME COMMAND...: passes when the command succeeds
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name"; fi; }

# gw_start [flags]: (re)start the gateway, then wait up to 15 s for its
# database pool (slow under valgrind); DB overrides the connection string.
gw_start() {
	GATEWAY_DATABASE=${DB:-$FAKE_DB} bash "$GW" test start "$@" >/dev/null || return 1
	local end=$((SECONDS + 15))
	while ((SECONDS < end)); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$CA" "$URL/healthz") == 200 ]] && return 0
		sleep 0.1
	done
	return 0
}
gw_stop() { bash "$GW" test stop; }

# get NAME [curl args...]: response headers in $T/NAME.h, body in $T/NAME.b,
# status in $T/NAME.s
get() {
	local name=$1; shift
	curl -s --cacert "$CA" -D "$T/$name.h" -o "$T/$name.b" -w '%{http_code}' \
		--max-time 20 "$@" >"$T/$name.s" 2>/dev/null
}
status_is() { [[ $(cat "$T/$1.s") == "$2" ]]; }
# The security headers every HTTPS answer carries (file of headers).
sec_headers() {
	local f=$1 age
	age=$(grep -i '^strict-transport-security:' "$f" | sed -n 's/.*max-age=\([0-9]*\).*/\1/p')
	[[ -n $age && $age -ge 31536000 ]] &&
		grep -qi '^strict-transport-security:.*includeSubDomains' "$f" &&
		grep -qi '^x-frame-options: DENY' "$f" &&
		grep -qi "^content-security-policy:.*frame-ancestors 'none'" "$f" &&
		grep -qi '^x-content-type-options: nosniff' "$f" &&
		grep -qi '^referrer-policy: no-referrer' "$f" &&
		grep -qi '^cache-control: no-store' "$f" &&
		grep -qi '^x-xss-protection: 0' "$f"
}
# raw_check NAME STATUS RAW-ARGS...: a raw exchange answers STATUS with the
# security headers and the server closes the connection (the exchange is
# kept in $T/NAME.raw, "/" in NAME replaced by "_").
raw_check() {
	local name=$1 want=$2; shift 2
	local f="$T/${name//\//_}.raw"
	$RAW "$PORT" "$CA" "$@" >"$f" 2>&1
	if grep -q "^STATUS $want\$" "$f" && sec_headers "$f" &&
		grep -q '^CLOSED' "$f"; then
		ok "$name: $want, security headers, closed"
	else
		not_ok "$name: $want, security headers, closed" "$(tr '\n' ' ' <"$f" | cut -c1-300)"
	fi
}

# err_is FILE CODE: the body is the API's error shape,
# {"error": {"code": CODE, "message": <a non-empty sentence>}}, nothing else.
err_is() {
	python3 - "$1" "$2" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
e = b["error"]
ok = (list(b) == ["error"] and sorted(e) == ["code", "message"] and
      e["code"] == sys.argv[2] and isinstance(e["message"], str) and
      len(e["message"]) > 3)
sys.exit(0 if ok else 1)
PY
}
# raw_err_is NAME CODE: the raw exchange NAME's (first) answer body is the
# API's error shape with CODE.
raw_err_is() {
	sed -n 's/^BODY //p' "$T/${1//\//_}.raw" | head -1 >"$T/raw_body.json"
	err_is "$T/raw_body.json" "$2"
}
# raw_closed_within NAME SECONDS: the raw exchange NAME ended (server closed)
# within SECONDS.
raw_closed_within() {
	local took
	took=$(grep '^CLOSED' "$T/${1//\//_}.raw" | cut -d' ' -f2)
	[[ -n $took ]] && awk "BEGIN{exit !($took <= $2)}"
}

log_step "gateway e2e: preparing the fake-dispatch database"
bash "$GW" test stop
rm -f "$GW_DIR/gateway.log" "$GW_DIR/stderr.log"
bash "$COMMITOPT_SRC/scripts/overlay.sh" >/dev/null
bash "$COMMITOPT_SRC/scripts/cluster.sh" test start
"$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS gateway_e2e WITH (FORCE)" 2>/dev/null
"$PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE gateway_e2e"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d gateway_e2e \
	-f "$COMMITOPT_SRC/test/gateway/fake_dispatch.sql" >/dev/null
# FC-10 (4): every statement logged; parameters must still not show.
"$PGBIN/psql" -X -q -d postgres -c "ALTER SYSTEM SET log_min_duration_statement = 0" \
	-c "SELECT pg_reload_conf()" >/dev/null
pglog_from=$(( $(stat -c %s "$COMMITOPT_LOG") + 1 ))
gw_start || { not_ok "gateway starts"; echo "$passed passed, $failed failed"; exit 1; }
ok "gateway starts"

log_step "headers on every status (FC-16)"
get health "$URL/healthz"
check "GET /healthz is 200" status_is health 200
check "200 carries the security headers" sec_headers "$T/health.h"
get nf "$URL/does-not-exist"
check "unknown route is 404" status_is nf 404
check "404 carries the security headers" sec_headers "$T/nf.h"
get unauth "$URL/v1/reports"
check "unauthenticated /v1/reports is 401" status_is unauth 401
check "401 carries the security headers" sec_headers "$T/unauth.h"
get fail "$URL/fake/fail"
check "database error is 500" status_is fail 500
check "500 carries the security headers" sec_headers "$T/fail.h"
check "500 body is generic (no row detail)" \
	bash -c "! grep -q 'sessions_pkey\|duplicate\|Key\|5e8848' '$T/fail.b'"
get hdrs "$URL/fake/headers"
check "database cannot weaken HSTS" bash -c "! grep -qi 'max-age=0' '$T/hdrs.h' && grep -ci '^strict-transport-security' '$T/hdrs.h' | grep -qx 1"
check "CR/LF header injection is dropped" bash -c "! grep -qi '^injected' '$T/hdrs.h' && ! grep -qi '^x-evil' '$T/hdrs.h' && grep -qi '^x-fine: fine' '$T/hdrs.h'"
check "a JSON array header becomes two Set-Cookie lines" bash -c "[[ \$(grep -ci '^set-cookie' '$T/hdrs.h') == 2 ]]"
get echo "$URL/fake/echo?a=1&session=tok_test_abcd1234" -H 'X-Rep: 1' -H 'X-Rep: 2' \
	-H 'Authorization: Bearer tok_test_abcd1234'
check "headers reach dispatch lower-cased, repeats joined" \
	grep -q '"x-rep": "1, 2"' "$T/echo.b"
check "client address reaches dispatch" grep -q '"client": "127.0.0.1"' "$T/echo.b"

log_step "TLS versions and ciphers (FC-16)"
tls() { echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost \
	-CAfile "$CA" -verify_return_error "$@" >"$T/tls.out" 2>&1; }
check "TLS 1.0 refused" bash -c "! { echo | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1 -cipher DEFAULT@SECLEVEL=0 -CAfile '$CA' 2>&1 | grep -q 'Cipher is ECDHE\|New, TLS'; }"
check "TLS 1.1 refused" bash -c "! { echo | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_1 -cipher DEFAULT@SECLEVEL=0 -CAfile '$CA' 2>&1 | grep -q 'Cipher is ECDHE\|New, TLS'; }"
check "TLS 1.0 gets a protocol_version alert" bash -c "echo | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1 -cipher DEFAULT@SECLEVEL=0 2>&1 | grep -qi 'alert protocol version'"
check "TLS 1.2 verified handshake" tls -tls1_2
check "TLS 1.2 negotiates an ECDHE AEAD suite" grep -q 'Cipher is ECDHE-[A-Z]*-\(AES[0-9]*-GCM\|CHACHA20-POLY1305\)' "$T/tls.out"
check "TLS 1.3 verified handshake" tls -tls1_3
check "weak ciphers (RC4, 3DES, NULL, EXPORT, CBC) refused" bash -c "! { echo | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cipher 'RC4:3DES:NULL:EXPORT:AES128-SHA:ECDHE-RSA-AES128-SHA@SECLEVEL=0' -CAfile '$CA' 2>&1 | grep -q 'New, TLS'; }"
check "plain HTTP on the HTTPS port gets no answer" bash -c "! curl -s --max-time 5 http://127.0.0.1:$PORT/healthz | grep -q ok"

log_step "plain-HTTP port redirects (FC-16)"
curl -si --max-time 5 "http://localhost:$HTTP_PORT/v1/me?x=1" >"$T/plain" 2>&1
check "plain HTTP is 301 to https" grep -q "^HTTP/1.1 301" "$T/plain"
check "redirect Location keeps path and query" grep -qi "^location: https://localhost:$PORT/v1/me?x=1" "$T/plain"
check "no HSTS over plain HTTP" bash -c "! grep -qi strict-transport '$T/plain'"
check "TLS refused on the plain port too (it is not HTTPS)" bash -c "! { echo | timeout 5 openssl s_client -connect 127.0.0.1:$HTTP_PORT -tls1_2 2>&1 | grep -q 'New, TLS'; }"

log_step "limits (FC-15)"
long=$(head -c 10000 /dev/zero | tr '\0' a)
get longurl "$URL/$long"
check "over-long request line is 414" status_is longurl 414
check "414 carries the security headers" sec_headers "$T/longurl.h"
check "the gateway's 414 has the API's error shape (request_line_too_long)" err_is "$T/longurl.b" request_line_too_long
raw_check "65,536-byte Cookie is 431" 431 send "GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: $(head -c 65536 /dev/zero | tr '\0' a)\r\n\r\n"
h100="X-Pad-%03d: $(head -c 86 /dev/zero | tr '\0' b)\r\n"
many=$(for i in $(seq 1 200); do printf "$h100" "$i"; done)
raw_check "200 headers of 100 bytes is 431" 431 send "GET /healthz HTTP/1.1\r\nHost: x\r\n$many\r\n"
raw_check "Content-Length over the cap is 413" 413 send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n'
head -c 1100000 /dev/zero | tr '\0' a >"$T/big"
get bigchunk "$URL/fake/echo" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
check "chunked body over the cap is 413" status_is bigchunk 413
check "413 carries the security headers" sec_headers "$T/bigchunk.h"
check "the gateway's 413 has the API's error shape (body_too_large)" err_is "$T/bigchunk.b" body_too_large
raw_check "chunk size 7fffffff (over the body cap) is 413" 413 send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n7fffffff\r\nabc'
check "the early 413 is body_too_large" raw_err_is "chunk size 7fffffff (over the body cap) is 413" body_too_large
check "a chunk over the cap is refused at its header, not at the body deadline" raw_closed_within "chunk size 7fffffff (over the body cap) is 413" 4.5
raw_check "a second chunk over what is left of the cap is 413" 413 send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nfffff\r\nabc'
$RAW "$PORT" "$CA" send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n' >"$T/chunked-ok" 2>&1
check "a small chunked body is still answered 200" grep -q '^STATUS 200' "$T/chunked-ok"
$RAW "$PORT" "$CA" send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer-Field: sneaked\r\nHost: other\r\n\r\n' >"$T/chunked-trailer" 2>&1
$RAW "$PORT" "$CA" send 'POST /fake/echo HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/trailer-conn" 2>&1
check "a trailer's Connection field does not keep an HTTP/1.0 connection open (one answer, then closed)" \
	bash -c "[[ \$(grep -c '^STATUS 200' '$T/trailer-conn') == 1 ]] && grep -q '^CLOSED' '$T/trailer-conn'"
check "trailer fields of a chunked body are discarded (answered 200, none reaches dispatch)" \
	bash -c "grep -q '^STATUS 200' '$T/chunked-trailer' && grep -q '\"body\": \"abc\"' '$T/chunked-trailer' && ! grep -qi 'sneaked\|other' '$T/chunked-trailer'"
get post "$URL/fake/echo" -H 'Content-Type: application/json' --data-binary '{"x":"é"}'
check "a normal body reaches dispatch" bash -c "grep -q '\"body\": \"{\\\\\\\\\"x\\\\\\\\\": \\\\\\\\\"é\\\\\\\\\"}\"' '$T/post.b' || grep -q 'é' '$T/post.b'"

log_step "HTTP version, Host and header-name rules (RFC 9112)"
raw_check "HTTP/2.0 in the request line is 505" 505 send 'GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n'
check "505 is http_version_not_supported in the API's error shape" raw_err_is "HTTP/2.0 in the request line is 505" http_version_not_supported
raw_check "HTTP/9.9 in the request line is 505" 505 send 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'
raw_check "HTTP/1.2 in the request line is 505" 505 send 'GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n'
raw_check "HTTP/0.9 in the request line is 505" 505 send 'GET /healthz HTTP/0.9\r\nHost: x\r\n\r\n'
$RAW "$PORT" "$CA" send 'GET /healthz HTTP/1.0\r\n\r\n' >"$T/http10" 2>&1
check "HTTP/1.0 without Host is 200" grep -q '^STATUS 200' "$T/http10"
raw_check "HTTP/1.1 without Host is 400" 400 send 'GET /healthz HTTP/1.1\r\nX-A: b\r\n\r\n'
check "missing Host is host_header_required" raw_err_is "HTTP/1.1 without Host is 400" host_header_required
raw_check "HTTP/1.1 with two Host headers is 400" 400 send 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
check "two Host headers is duplicate_host_header" raw_err_is "HTTP/1.1 with two Host headers is 400" duplicate_host_header
raw_check "HTTP/1.0 with two Host headers is 400" 400 send 'GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n'
raw_check "a space between header name and colon is 400" 400 send 'GET /fake/echo HTTP/1.1\r\nHost: x\r\nAuthorization : Bearer x\r\n\r\n'
check "a space before the colon is invalid_header_name" raw_err_is "a space between header name and colon is 400" invalid_header_name
raw_check "a tab between header name and colon is 400" 400 send 'GET /fake/echo HTTP/1.1\r\nHost: x\r\nAuthorization\t: Bearer x\r\n\r\n'
raw_check "a non-token byte in a header name is 400" 400 send 'GET /fake/echo HTTP/1.1\r\nHost: x\r\nX-A@b: c\r\n\r\n'
get tokname "$URL/fake/echo" -H "X-Odd!#\$%&'*+.^_\`|~: 1"
check "a header name of every token character passes" status_is tokname 200
# Obsolete line folding (RFC 9112 section 5.2): refused, not joined.
raw_check "a header folded with a space is 400" 400 send 'GET /fake/echo HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n'
check "a folded header is obsolete_line_folding in the API's error shape" raw_err_is "a header folded with a space is 400" obsolete_line_folding
raw_check "a header folded with a tab is 400" 400 send 'GET /fake/echo HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\tc\r\n\r\n'
check "the tab fold is obsolete_line_folding" raw_err_is "a header folded with a tab is 400" obsolete_line_folding
raw_check "a fold after an empty value is 400" 400 send 'GET /fake/echo HTTP/1.1\r\nHost: x\r\nAuthorization:\r\n Bearer x\r\n\r\n'
check "the fold after an empty value is obsolete_line_folding" raw_err_is "a fold after an empty value is 400" obsolete_line_folding
# the fold arrives in a later read than the line it continues
raw_check "a fold sent after a pause is 400" 400 expect 'GET /fake/echo HTTP/1.1\r\nHost: x\r\nX-A: b\r\n' $' c\r\n\r\n'
check "the late fold is obsolete_line_folding" raw_err_is "a fold sent after a pause is 400" obsolete_line_folding
# (an empty line before the request line is skipped, RFC 9112 section 2.2)
multi="several headers, spaces and tabs inside values, an empty value: 200"
raw_check "$multi" 200 send '\r\nGET /fake/echo HTTP/1.1\r\nHost: x\r\nX-A: b c\r\nX-B:\tv\t w\r\nX-C:\r\nX-D:  e\r\nConnection: close\r\n\r\n'
check "those values reach dispatch intact" python3 -c '
import json, sys
body = open(sys.argv[1]).read().split("BODY ", 1)[1].splitlines()[0]
h = json.loads(body)["headers"]
sys.exit(0 if [h.get(k) for k in ("x-a", "x-b", "x-c", "x-d")] == ["b c", "v\t w", "", "e"] else 1)' "$T/$multi.raw"

log_step "Expect: 100-continue"
exp_hdr='POST /fake/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nExpect: 100-continue\r\n'
$RAW "$PORT" "$CA" expect "${exp_hdr}Content-Length: 9\r\n\r\n" '{"a":"b"}' >"$T/expect" 2>&1
check "100-continue: the interim 100 comes before the body is sent" grep -q '^INTERIM 100$' "$T/expect"
check "... then the body is read and answered 200" grep -q '^STATUS 200$' "$T/expect"
$RAW "$PORT" "$CA" expect "${exp_hdr}Transfer-Encoding: chunked\r\n\r\n" $'9\r\n{"a":"b"}\r\n0\r\n\r\n' >"$T/expect-chunked" 2>&1
check "100-continue with a chunked body: interim 100, then 200" \
	bash -c "grep -q '^INTERIM 100$' '$T/expect-chunked' && grep -q '^STATUS 200$' '$T/expect-chunked'"
$RAW "$PORT" "$CA" expect "${exp_hdr}Content-Length: 2000000\r\n\r\n" 'x' >"$T/expect-big" 2>&1
check "100-continue with a body over the cap: 413 at once, no interim 100" \
	bash -c "grep -q '^NO INTERIM$' '$T/expect-big' && grep -q '^STATUS 413$' '$T/expect-big' && ! grep -q '^STATUS 100$' '$T/expect-big'"
$RAW "$PORT" "$CA" expect 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n' '' >"$T/expect-nobody" 2>&1
check "100-continue without a body: the answer alone, no interim 100" \
	bash -c "grep -q '^STATUS 200$' '$T/expect-nobody' && ! grep -q '^STATUS 100$' '$T/expect-nobody'"
$RAW "$PORT" "$CA" expect 'POST /fake/echo HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n' '{"a":"b"}' >"$T/expect-10" 2>&1
check "HTTP/1.0: the expectation is ignored (no interim 100), the request answered" \
	bash -c "grep -q '^NO INTERIM$' '$T/expect-10' && grep -q '^STATUS 200$' '$T/expect-10' && ! grep -q '^STATUS 100$' '$T/expect-10'"
raw_check "an expectation other than 100-continue is 417" 417 send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}'
check "417 is expectation_failed in the API's error shape" raw_err_is "an expectation other than 100-continue is 417" expectation_failed
get expcurl "$URL/fake/echo" -H 'Content-Type: application/json' -H 'Expect: 100-continue' --data '{"a":"b"}'
check "curl's Expect: 100-continue POST is answered 200" status_is expcurl 200

log_step "smuggling shapes are 400 and close"
raw_check "Content-Length with Transfer-Encoding" 400 send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
raw_check "duplicate Content-Length" 400 send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'
raw_check "Transfer-Encoding other than chunked" 400 send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
raw_check "malformed chunk size" 400 send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'
check "a malformed request keeps its code (malformed_request), in the API's error shape" raw_err_is "malformed chunk size" malformed_request
raw_check "bare CR in a header line" 400 send 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\rX\r\n\r\n'
raw_check "NUL in the body" 400 send 'POST /fake/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 3\r\n\r\na\x00b'
$RAW "$PORT" "$CA" send 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /fake/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$T/pipe" 2>&1
check "pipelined requests are both answered, in order" bash -c "[[ \$(grep -c '^STATUS 200' '$T/pipe') == 2 ]]"

log_step "CSRF rule for the session cookie"
get csrf1 "$URL/fake/echo" -X POST -H 'Cookie: __Host-commitopt_session=abc' -H 'Content-Type: text/plain' --data 'x'
check "cookie + POST + text/plain is 403" status_is csrf1 403
check "403 carries the security headers" sec_headers "$T/csrf1.h"
get csrf2 "$URL/fake/echo" -X POST -H 'Cookie: __Host-commitopt_session=abc' -H 'Content-Type: application/json' --data '{}'
check "cookie + POST + JSON passes" status_is csrf2 200
get csrf3 "$URL/fake/echo" -X POST -H 'Authorization: Bearer abc' -H 'Content-Type: text/plain' --data 'x'
check "Bearer + POST + text/plain passes (no ambient credential)" status_is csrf3 200
get csrf4 "$URL/fake/echo" -H 'Cookie: __Host-commitopt_session=abc'
check "cookie + GET passes" status_is csrf4 200
check "the gateway's 403 has the API's error shape (csrf_json_content_type_required)" err_is "$T/csrf1.b" csrf_json_content_type_required

log_step "login CSRF (the fake dispatch answers 404 for a login it is handed)"
get lcsrf1 "$URL/v1/login" -H 'Content-Type: text/plain' --data '{"email":"a@b.example","password":"x"}'
check "login with text/plain is 415" status_is lcsrf1 415
check "415 is unsupported_media_type in the API's error shape" err_is "$T/lcsrf1.b" unsupported_media_type
check "415 carries the security headers" sec_headers "$T/lcsrf1.h"
get lcsrf2 "$URL/v1/login" --data 'email=a%40b.example&password=x'
check "login with an HTML form type (urlencoded) is 415" status_is lcsrf2 415
get lcsrf3 "$URL/v1/login" -F 'email=a@b.example' -F 'password=x'
check "login with multipart/form-data is 415" status_is lcsrf3 415
get lcsrf4 "$URL/v1/login" -H 'Content-Type:' -H 'Sec-Fetch-Site: cross-site' --data '{"email":"a@b.example","password":"x"}'
check "login without Content-Type but Sec-Fetch-Site: cross-site is 403" status_is lcsrf4 403
check "that 403 is csrf_cross_site in the API's error shape" err_is "$T/lcsrf4.b" csrf_cross_site
get lcsrf5 "$URL/v1/login" -H 'Content-Type: application/json' -H 'Sec-Fetch-Site: cross-site' --data '{}'
check "login with JSON but Sec-Fetch-Site: cross-site is 403" status_is lcsrf5 403
get lcsrf6 "$URL/v1/login" -H 'Content-Type: application/json' -H 'Content-Type: text/plain' --data '{}'
check "login with a JSON and a text/plain Content-Type is 415" status_is lcsrf6 415
get lcsrf7 "$URL/v1/login" -H 'Content-Type:' --data '{}'
check "login without Content-Type reaches dispatch" status_is lcsrf7 404
get lcsrf8 "$URL/v1/login" -H 'Content-Type: application/json; charset=utf-8' -H 'Sec-Fetch-Site: same-origin' --data '{}'
check "login with JSON from the same origin reaches dispatch" status_is lcsrf8 404
get lcsrf9 "$URL/fake/echo" -H 'Content-Type: text/plain' --data 'x'
check "text/plain without a cookie elsewhere still reaches dispatch" status_is lcsrf9 200

log_step "slow clients (FC-15), with 3 s header and body deadlines"
gw_start --header_timeout_ms=3000 --body_timeout_ms=3000
start=$(date +%s.%N)
$RAW "$PORT" "$CA" slowloris 1 >"$T/loris" 2>&1
took=$(grep '^CLOSED' "$T/loris" | cut -d' ' -f2)
check "trickled headers: 408 then close" grep -q '^STATUS 408' "$T/loris"
check "408 carries the security headers" sec_headers "$T/loris"
check "closed by the total header deadline (3-5 s), not reset by each line" \
	bash -c "[[ -n '$took' ]] && awk 'BEGIN{exit !($took >= 2.5 && $took <= 5.5)}'"
$RAW "$PORT" "$CA" slowbody >"$T/slowbody" 2>&1
took=$(grep '^CLOSED' "$T/slowbody" | cut -d' ' -f2)
check "body at 1 byte/s: 408 and closed by the body deadline" \
	bash -c "grep -q '^STATUS 408' '$T/slowbody' && awk 'BEGIN{exit !(\"$took\" != \"\" && $took <= 5.5)}'"
$RAW "$PORT" "$CA" flood 500 >"$T/flood" 2>&1
took=$(grep '^ANSWERED' "$T/flood" | cut -d' ' -f2)
check "500 half-open connections: a normal request is answered in < 1 s" \
	bash -c "grep -q '^STATUS 200' '$T/flood' && awk 'BEGIN{exit !($took < 1.0)}'"
# Connections that never finish TLS cannot be sent a 408: they must go at
# the header deadline, not linger for the idle time (60 s).
$RAW "$PORT" "$CA" silent 60 >"$T/silent.raw" 2>&1
check "60 connections without TLS (silent, partial or stalled ClientHello) closed by the 3 s header deadline ($(tr '\n' ' ' <"$T/silent.raw")<= 5.5 s)" \
	raw_closed_within silent 5.5
get after_silent "$URL/healthz"
check "/healthz answers after them" status_is after_silent 200

log_step "pool queue, statement timeout"
gw_start --pool_size=1 --queue_size=1 --statement_timeout_ms=1500
for i in 1 2 3; do
	get q$i "$URL/fake/sleep?ms=1000" &
	sleep 0.2
done
wait
codes=$(cat "$T"/q1.s "$T"/q2.s "$T"/q3.s | tr -d '\n')
check "pool 1 + queue 1: two answered, the third 503 ($codes)" bash -c "[[ '$codes' == 200200503 ]]"
check "503 has Retry-After" grep -qi '^retry-after: [0-9]' "$T/q3.h"
check "503 carries the security headers" sec_headers "$T/q3.h"
get slow "$URL/fake/sleep?ms=3000"
check "statement timeout gives 503" status_is slow 503
check "503 body names the timeout" grep -q database_timeout "$T/slow.b"
get after "$URL/healthz"
check "connection usable after a timeout" status_is after 200

log_step "graceful shutdown"
gw_start
get inflight "$URL/fake/sleep?ms=1500" &
sleep 0.5
pid=$(cat "$GW_DIR/gateway.pid")
kill -TERM "$pid"
wait
check "request in flight at SIGTERM finishes with 200" status_is inflight 200
sleep 0.5
check "gateway exited after finishing" bash -c "! kill -0 $pid 2>/dev/null"

log_step "the database goes away and comes back"
gw_start
bash "$COMMITOPT_SRC/scripts/cluster.sh" test stop >/dev/null
start=$(date +%s%N)
get down "$URL/fake/echo" -H 'Cookie: session=tok_test_abcd1234'
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "database down: 503" status_is down 503
check "database down: answered quickly (${ms} ms < 1000)" test "$ms" -lt 1000
check "database down: security headers and Retry-After" bash -c "grep -qi '^retry-after' '$T/down.h'"
check "database down: 503 has the security headers" sec_headers "$T/down.h"
check "database down: no token in the body" bash -c "! grep -q tok_test '$T/down.b'"
get hdown "$URL/healthz"
check "database down: /healthz is 503" status_is hdown 503
bash "$COMMITOPT_SRC/scripts/cluster.sh" test start >/dev/null
for i in $(seq 1 80); do
	get back "$URL/fake/echo"
	status_is back 200 && break
	sleep 0.1
done
check "database back: recovered by itself within 8 s" status_is back 200

log_step "TLS link to PostgreSQL (verify-full)"
PGSSL=$COMMITOPT_RUN/pgssl
mkdir -p "$PGSSL"
if [[ ! -f $PGSSL/server.crt ]]; then
	(cd "$PGSSL" && umask 077 &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext &&
		openssl x509 -req -in server.csr -CA "$GW_DIR/ca.crt" -CAkey "$GW_DIR/ca.key" \
			-CAcreateserial -out server.crt -days 365 -sha256 -extfile ext 2>/dev/null &&
		rm -f server.csr ext)
fi
chown -R postgres:postgres "$PGSSL" 2>/dev/null
pw=Gw1-$(test_secret)-Xy
"$PGBIN/psql" -X -q -d postgres >/dev/null <<SQL
ALTER SYSTEM SET ssl = on;
ALTER SYSTEM SET ssl_cert_file = '$PGSSL/server.crt';
ALTER SYSTEM SET ssl_key_file = '$PGSSL/server.key';
ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2';
SELECT pg_reload_conf();
ALTER ROLE commitopt_gateway PASSWORD '$pw';
SQL
printf 'localhost:%s:gateway_e2e:commitopt_gateway:%s\n' "$COMMITOPT_PORT" "$pw" >"$GW_DIR/pgpass"
chown postgres:postgres "$GW_DIR/pgpass" 2>/dev/null
chmod 600 "$GW_DIR/pgpass"
sleep 0.5
TCP_DB="host=localhost port=$COMMITOPT_PORT dbname=gateway_e2e user=commitopt_gateway sslmode=verify-full sslrootcert=$GW_DIR/ca.crt passfile=$GW_DIR/pgpass"
DB=$TCP_DB gw_start
get tcp "$URL/fake/echo"
check "gateway over TCP + verify-full answers 200" status_is tcp 200
n=$("$PGBIN/psql" -X -Atq -d postgres -c "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'commitopt-gateway' AND s.ssl AND s.version IN ('TLSv1.2', 'TLSv1.3')")
check "its database connections use TLS 1.2+ ($n)" test "${n:-0}" -ge 1
check "TCP without verify-full is refused at start" bash -c "! '$COMMITOPT_SRC/gateway/commitopt-gateway' --cert_file=x --key_file=y --database='host=localhost sslmode=require' --check"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/other.key" -out "$T/other.crt" -days 2 -subj "/CN=another CA" 2>/dev/null
cp "$T/other.crt" "$GW_DIR/other-ca.crt"
chmod 644 "$GW_DIR/other-ca.crt"
DB="${TCP_DB/sslrootcert=$GW_DIR\/ca.crt/sslrootcert=$GW_DIR/other-ca.crt}" gw_start
get wrongca "$URL/healthz"
check "server certificate not from the trusted CA: no database link (503)" status_is wrongca 503
check "the log says why (certificate verify failed)" grep -q 'certificate verify failed' "$GW_DIR/gateway.log"
"$PGBIN/psql" -X -q -d postgres -c "ALTER ROLE commitopt_gateway PASSWORD NULL" >/dev/null
rm -f "$GW_DIR/pgpass"
gw_start

log_step "certificate reload on SIGHUP"
serial() { echo | openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$CA" 2>/dev/null | openssl x509 -noout -serial; }
s1=$(serial)
(cd "$GW_DIR" && openssl req -new -key server.key -out r.csr -subj /CN=localhost 2>/dev/null &&
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >r.ext &&
	openssl x509 -req -in r.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt.new -days 365 -sha256 -extfile r.ext 2>/dev/null &&
	mv server.crt.new server.crt && rm -f r.csr r.ext && chown postgres:postgres server.crt)
bash "$GW" test reload
sleep 0.5
s2=$(serial)
check "SIGHUP loads the new certificate ($s1 -> $s2)" bash -c "[[ -n '$s2' && '$s1' != '$s2' ]]"
get reload "$URL/healthz"
check "verified requests still work after reload" status_is reload 200

log_step "secrets never reach a log (FC-10)"
get fc10a "$URL/v1/reports?session=tok_test_abcd1234"
check "token in the query is not accepted (401)" status_is fc10a 401
check "access log shows the query redacted" grep -q '"route":"/v1/reports","query":"session=\[redacted\]"' "$GW_DIR/gateway.log"
gw_stop
check "gateway log: no token, cookie or Authorization" bash -c "! grep -qi 'tok_test_abcd1234\|__Host-commitopt_session\|bearer' '$GW_DIR/gateway.log' '$GW_DIR/stderr.log'"
# The server logs through its logging collector into $COMMITOPT_RUN/log/
# (start-up messages stay in $COMMITOPT_LOG): search all of them.
server_logs="'$COMMITOPT_LOG' '$COMMITOPT_RUN'/log/*.log"
check "PostgreSQL log: statements were logged, no token in them" bash -c "cat $server_logs 2>/dev/null | grep -q 'duration: ' && ! cat $server_logs 2>/dev/null | grep -q 'tok_test_abcd1234'"

if "$PGBIN/psql" -X -Atq -d postgres -c "SELECT 1" >/dev/null && [[ -f $COMMITOPT_SRC/extension/sql/92_api.sql ]]; then
	source "$COMMITOPT_SRC/test/gateway/e2e_sessions.sh"
fi

"$PGBIN/psql" -X -q -d postgres -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null
gw_stop
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
