#!/usr/bin/env bash
# password_bench.sh [--tiny] [MODE]: figures of the password code on a
# running cluster of this checkout (MODE main or test, default main), at
# the shipped argon2id cost: one hash, one login verification, one
# password change with a full history (24 entries), one blocklist lookup.
# Printed, not asserted.  Goals: change < 1.5 s, lookup < 50 us.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
runs=5
lookups=100000
if [[ ${1:-} == --tiny ]]; then
	runs=1
	lookups=1000
	shift
fi
commitopt_mode "${1:-main}"
"$PGBIN/psql" -X -d postgres -Atqc \
	"SELECT 1 FROM pg_database WHERE datname = '$COMMITOPT_DB'" | grep -q 1 ||
	"$PGBIN/createdb" "$COMMITOPT_DB"

psql_db -At -c "SET bench.runs = $runs" -c "SET bench.lookups = $lookups" -f - <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS commitopt;
BEGIN;
-- A throwaway tenant whose user has a full history at the shipped cost.
SELECT commitopt.create_tenant_with_admin('bench-passwords', 'Password bench',
	'bench@passwords.example', 'Bench', 'User', 'Pw00#Kqzv') AS u \gset
INSERT INTO commitopt.password_history (tenant_id, user_id, password_hash)
SELECT tenant_id, user_id, commitopt.password_hash(format('Pw%s#Kqzv', lpad(n::text, 2, '0')))
  FROM commitopt.users, generate_series(1, 23) n
 WHERE email = 'bench@passwords.example';

CREATE TEMP TABLE bench (what text, ms float8);
DO $$
DECLARE
	t0 timestamptz;
	runs int := current_setting('bench.runs')::int;
	lookups int := current_setting('bench.lookups')::int;
	u uuid := (SELECT user_id FROM commitopt.users WHERE email = 'bench@passwords.example');
	cur text := 'Pw00#Kqzv';
	nxt text;
	hits int;
BEGIN
	FOR i IN 1..runs LOOP
		t0 := clock_timestamp();
		PERFORM commitopt.password_hash('Qzx7#Wvk');
		INSERT INTO bench VALUES ('argon2id hash, one run', extract(epoch FROM clock_timestamp() - t0) * 1000);

		t0 := clock_timestamp();
		PERFORM * FROM commitopt.verify_login('bench@passwords.example', cur);
		INSERT INTO bench VALUES ('login verification', extract(epoch FROM clock_timestamp() - t0) * 1000);

		nxt := format('Ch%s#Qzxvw', i);
		t0 := clock_timestamp();
		PERFORM commitopt.change_password(u, cur, nxt);
		INSERT INTO bench VALUES ('password change, 24-entry history', extract(epoch FROM clock_timestamp() - t0) * 1000);
		cur := nxt;
	END LOOP;

	PERFORM commitopt.password_is_common('warm-up');
	t0 := clock_timestamp();
	SELECT count(*) FILTER (WHERE commitopt.password_is_common('P@ssw0rd' || g)) INTO hits
	  FROM generate_series(1, lookups) g;
	INSERT INTO bench VALUES ('blocklist lookup (all variants, incl. SQL call)',
		extract(epoch FROM clock_timestamp() - t0) * 1000 / lookups);
END
$$;
SELECT format('%-50s %s ms  (median of %s)', what,
			  to_char(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), 'FM99990.0000'), count(*))
  FROM bench GROUP BY what ORDER BY what;
ROLLBACK;
SQL
