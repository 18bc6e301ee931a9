#!/usr/bin/env bash
# sessions.sh: the backend under valgrind in single-user mode (postgres
# --single) on this checkout's test cluster (stopped for the run, started
# again afterwards), exercising extension/claim.c, session.c and the
# claim checks: token generation, login, authentication, a valid claim,
# hand-set, altered, truncated, expired and session-level claims, the
# analyst fallback and caller_is_superuser(); the liveness test of upload
# sessions and the redaction of an EXECUTE of a secret-bearing prepared
# statement.  Prints valgrind's summary;
# exits non-zero when valgrind reports an error.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
commitopt_mode test
db=${1:-contrib_regression}
out=$COMMITOPT_RUN/valgrind-sessions.log
set +e
bash "$COMMITOPT_SRC/scripts/cluster.sh" test stop >/dev/null
trap 'bash "$COMMITOPT_SRC/scripts/cluster.sh" test start >/dev/null' EXIT
# one statement per line: single-user mode reads up to each newline
as_postgres valgrind --quiet --error-exitcode=3 --leak-check=no \
	--suppressions="$(postgres_readable "$COMMITOPT_SRC/test/valgrind/postgres.supp")" \
	--trace-children=no --log-file="$out" \
	"$PGBIN/postgres" --single -D "$COMMITOPT_PGDATA" "$db" <<'SQL' >"$COMMITOPT_RUN/valgrind-sessions.out" 2>&1
SET commitopt.password_hash_memory = 64; SET commitopt.password_hash_iterations = 1; SET client_min_messages = warning;
SELECT length(commitopt.session_token_new());
SELECT commitopt.create_tenant_with_admin('vg-a', 'VG', 'vg@vg-a.example', 'V', 'G', 'Gr3en#Field');
SELECT set_config('vg.tok', (SELECT d.body::jsonb ->> 'token' FROM api.dispatch('POST', '/v1/login', '', '{}', '{"email": "vg@vg-a.example", "password": "Gr3en#Field"}', '192.0.2.1') d), false);
SELECT d.status FROM api.dispatch('POST', '/v1/login', '', '{}', '{"email": "vg@vg-a.example", "password": "wrong"}', '192.0.2.1') d;
SELECT d.status FROM api.dispatch('GET', '/v1/me', '', jsonb_build_object('authorization', 'Bearer ' || current_setting('vg.tok')), NULL, '192.0.2.1') d;
SELECT d.status FROM api.dispatch('GET', '/v1/me', '', jsonb_build_object('authorization', 'Bearer ' || left(current_setting('vg.tok'), 42) || 'x'), NULL, '192.0.2.1') d;
SELECT set_config('vg.claim', commitopt.claim_mint(commitopt.tenant_id('vg-a'), gen_random_uuid(), 'admin', gen_random_uuid(), now() + interval '1 hour'), false);
BEGIN; SELECT set_config('commitopt.claim', current_setting('vg.claim'), true) IS NOT NULL; SELECT commitopt.current_tenant(), commitopt.current_user_id(), commitopt.current_user_role(), commitopt.current_session_id(); COMMIT;
BEGIN; SELECT set_config('commitopt.claim', replace(current_setting('vg.claim'), ':admin:', ':viewer:'), true) IS NOT NULL; SELECT commitopt.current_tenant(), commitopt.current_user_role(); COMMIT;
BEGIN; SELECT set_config('commitopt.claim', left(current_setting('vg.claim'), 60), true) IS NOT NULL; SELECT commitopt.current_tenant(); COMMIT;
BEGIN; SELECT set_config('commitopt.claim', 'v1:forged:x:y:z:1:' || repeat('0', 64), true) IS NOT NULL; SELECT commitopt.current_tenant(); COMMIT;
BEGIN; SELECT set_config('commitopt.claim', commitopt.claim_mint(commitopt.tenant_id('vg-a'), gen_random_uuid(), 'admin', gen_random_uuid(), '2000-01-01'), true) IS NOT NULL; SELECT commitopt.current_tenant(); COMMIT;
SELECT set_config('commitopt.claim', current_setting('vg.claim'), false) IS NOT NULL; SELECT commitopt.current_tenant(); RESET commitopt.claim;
SELECT commitopt.caller_is_superuser();
SET commitopt.clock = '2099-01-01 00:00+00'; SELECT d.status FROM api.dispatch('GET', '/v1/me', '', jsonb_build_object('authorization', 'Bearer ' || current_setting('vg.tok')), NULL, '192.0.2.1') d; RESET commitopt.clock;
INSERT INTO commitopt.billing_upload (tenant_id, upload_session, line) VALUES (commitopt.tenant_id('vg-a'), '1:1', 'gone'), (commitopt.tenant_id('vg-a'), commitopt.upload_session(), 'mine');
SELECT commitopt.upload_session_is_live(commitopt.upload_session()), commitopt.upload_session_is_live('1:1'), commitopt.upload_session_is_live('garbage'), commitopt.upload_session_is_live('');
PREPARE chk(text) AS SELECT * FROM commitopt.password_check($1, 'a', 'b', 'c@d.example', NULL);
EXECUTE chk('Vg#Secret-' || (1 / 0)::text);
PREPARE "Quoted ""chk"""(text) AS SELECT * FROM commitopt.password_check($1, 'a', 'b', 'c@d.example', NULL);
EXECUTE "Quoted ""chk"""('Vg#Secret-' || (1 / 0)::text);
SELECT 1 / 0 AS execute_nothing;
SELECT commitopt.sessions_reap();
SELECT line FROM commitopt.billing_upload WHERE tenant_id = commitopt.tenant_id('vg-a');
DELETE FROM commitopt.billing_upload WHERE tenant_id = commitopt.tenant_id('vg-a');
SQL
rc=$?
grep -E "^\s+[0-9]+: |ERROR" "$COMMITOPT_RUN/valgrind-sessions.out"
cat "$out"
echo "valgrind-sessions: postgres --single exited $rc ($(wc -l < "$out") lines of valgrind output, in $out)"
exit $rc
