# Sourced by test/gateway/e2e.sh (part B): the session routes of the real
# api.dispatch through the gateway, in a database of their own.  Uses the
# helpers and variables of e2e.sh.

log_step "session routes of the real api.dispatch"
API_DB=gateway_e2e_api
"$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $API_DB WITH (FORCE)" 2>/dev/null
"$PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE $API_DB"
api_pw="Gw#Test-$(test_secret)-9x"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$API_DB" -v pw="$api_pw" >/dev/null <<'SQL'
SET client_min_messages = warning;
-- the test's own set-up must not log the password it creates
SET log_min_duration_statement = -1;
CREATE EXTENSION commitopt;
SELECT commitopt.create_tenant_with_admin('gwtest', 'Gateway e2e',
	'admin@gw.example', 'Gale', 'Way', :'pw');
SQL
DB="host=$COMMITOPT_SOCKET port=$COMMITOPT_PORT dbname=$API_DB user=commitopt_gateway" gw_start
: >"$T/login.json"
printf '{"email":"admin@gw.example","password":"%s"}' "$api_pw" >"$T/login.json"

get login "$URL/v1/login" -H 'Content-Type: application/json' --data-binary @"$T/login.json"
check "POST /v1/login is 200" status_is login 200
check "login answer carries the security headers" sec_headers "$T/login.h"
check "login sets the __Host- cookie: Secure; HttpOnly; SameSite=Strict; Path=/" \
	bash -c "grep -i '^set-cookie: __Host-commitopt_session=' '$T/login.h' | grep -i 'secure' | grep -i 'httponly' | grep -i 'samesite=strict' | grep -qi 'path=/'"
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T/login.b" 2>/dev/null)
check "login returns a token" test -n "$tok"

get me1 "$URL/v1/me" -H "Authorization: Bearer $tok"
check "GET /v1/me with Bearer is 200" status_is me1 200
check "GET /v1/me names the user" grep -q 'admin@gw.example' "$T/me1.b"
get me2 "$URL/v1/me" -H "Cookie: __Host-commitopt_session=$tok"
check "GET /v1/me with the cookie is 200" status_is me2 200
get me3 "$URL/v1/me"
check "GET /v1/me without credentials is 401" status_is me3 401
check "401 carries the security headers" sec_headers "$T/me3.h"
get me4 "$URL/v1/me?session=$tok"
check "a token in the query string is not accepted (FC-10)" status_is me4 401
get bad "$URL/v1/login" -H 'Content-Type: application/json' --data '{"email":"admin@gw.example","password":"wrong-Password-1"}'
check "wrong password is 401" status_is bad 401
check "wrong-password 401 carries the security headers" sec_headers "$T/bad.h"
get badjson "$URL/v1/login" -H 'Content-Type: application/json' --data '{"email":'
check "malformed JSON body is 400" status_is badjson 400

both_err_shapes() { err_is "$1" "$2" && err_is "$3" "$4"; }
# Login CSRF: a cross-site form (or a no-cors fetch) must not log the
# victim's browser into another account.
get lfx1 "$URL/v1/login" -H 'Content-Type: text/plain' --data-binary @"$T/login.json"
check "login with the right password but text/plain is 415" status_is lfx1 415
check "the refused login sets no cookie" bash -c "! grep -qi '^set-cookie' '$T/lfx1.h'"
get lfx2 "$URL/v1/login" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$T/login.json"
check "login as an HTML form is 415, no cookie" bash -c "[[ \$(cat '$T/lfx2.s') == 415 ]] && ! grep -qi '^set-cookie' '$T/lfx2.h'"
get lfx3 "$URL/v1/login" -H 'Content-Type:' -H 'Sec-Fetch-Site: cross-site' --data-binary @"$T/login.json"
check "login without a content type from another site is 403, no cookie" bash -c "[[ \$(cat '$T/lfx3.s') == 403 ]] && ! grep -qi '^set-cookie' '$T/lfx3.h'"
get lfx4 "$URL/v1/login" -H 'Content-Type:' --data-binary @"$T/login.json"
check "login without a content type (an API client) is 200 with the cookie" \
	bash -c "[[ \$(cat '$T/lfx4.s') == 200 ]] && grep -qi '^set-cookie: __Host-commitopt_session=' '$T/lfx4.h'"
check "the database's 401 and the gateway's 415 have one error shape" \
	both_err_shapes "$T/bad.b" invalid_credentials "$T/lfx1.b" unsupported_media_type

# FC-09 over HTTP: move the session's clock back instead of waiting an hour.
sid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session"]["id"])' "$T/me1.b" 2>/dev/null)
age() { "$PGBIN/psql" -X -q -d "$API_DB" -c "UPDATE commitopt.sessions SET created_at = now() - interval '$1', last_activity = now() - interval '$2' WHERE session_id = '$sid'" >/dev/null; }
age '59 min 59 s' '1 min'
get fc9a "$URL/v1/me" -H "Authorization: Bearer $tok"
check "FC-09 A: active session at 59:59 is 200" status_is fc9a 200
age '60 min 1 s' '30 s'
get fc9b "$URL/v1/me" -H "Authorization: Bearer $tok"
check "FC-09 A: active session at 60:01 is 401 (absolute limit)" status_is fc9b 401

get login2 "$URL/v1/login" -H 'Content-Type: application/json' --data-binary @"$T/login.json"
tok2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T/login2.b" 2>/dev/null)
check "FC-09: re-login creates a new token" bash -c "[[ -n '$tok2' && '$tok2' != '$tok' ]]"
get old "$URL/v1/me" -H "Authorization: Bearer $tok"
check "FC-09: the old token stays invalid" status_is old 401
get me5 "$URL/v1/me" -H "Authorization: Bearer $tok2"
sid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session"]["id"])' "$T/me5.b" 2>/dev/null)
age '40 min' '30 min 1 s'
get fc9c "$URL/v1/me" -H "Authorization: Bearer $tok2"
check "FC-09 B: idle 30:01 is 401" status_is fc9c 401

get login3 "$URL/v1/login" -H 'Content-Type: application/json' --data-binary @"$T/login.json"
tok3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T/login3.b" 2>/dev/null)
get lo1 "$URL/v1/logout" -X POST -H "Cookie: __Host-commitopt_session=$tok3" -H 'Content-Type: text/plain' --data 'x'
check "logout by cookie with text/plain is 403 (CSRF)" status_is lo1 403
get lo2 "$URL/v1/me" -H "Cookie: __Host-commitopt_session=$tok3"
check "the refused logout did not end the session" status_is lo2 200
get lo3 "$URL/v1/logout" -X POST -H "Cookie: __Host-commitopt_session=$tok3" -H 'Content-Type: application/json'
check "logout by cookie with JSON content type succeeds" bash -c "[[ \$(cat '$T/lo3.s') == 200 || \$(cat '$T/lo3.s') == 204 ]]"
get lo4 "$URL/v1/me" -H "Authorization: Bearer $tok3"
check "after logout the token is 401" status_is lo4 401

bash "$GW" test stop
check "gateway log: no password, token or cookie of part B" bash -c "! grep -qF -e '$api_pw' -e '$tok' -e '$tok2' -e '$tok3' '$GW_DIR/gateway.log' '$GW_DIR/stderr.log'"
check "PostgreSQL log: no password or token of part B" bash -c "! tail -c +$pglog_from '$COMMITOPT_LOG' | grep -qF -e '$api_pw' -e '$tok' -e '$tok2' -e '$tok3'"
