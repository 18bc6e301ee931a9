#!/usr/bin/env bash
# setup-db.sh MODE: on a running cluster, creates the database and the
# extensions, loads reference prices and the demo tenants, runs the main
# job (simulation and recommendation).  Safe to run again: imports replace
# their billing periods, the generator replaces its fleet, and a new
# simulation replaces the previous one for the same window.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
commitopt_mode "$1"

bash "$COMMITOPT_SRC/scripts/stage-data.sh" "$1"

if ! "$PGBIN/psql" -X -d postgres -Atqc \
	"SELECT 1 FROM pg_database WHERE datname = '$COMMITOPT_DB'" | grep -q 1; then
	log_step "creating database $COMMITOPT_DB"
	"$PGBIN/createdb" "$COMMITOPT_DB"
fi

log_step "loading extensions, prices and the demo tenants"
psql_db -At -v datadir="$COMMITOPT_DATA" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS commitopt;
\o /dev/null
SELECT commitopt.load_reference_data(:'datadir' || '/pricing');
\o

-- Tenant 1: the real, anonymized FinOps Foundation FOCUS samples (AWS,
-- September 2024) plus an anonymized legacy CUR (November 2023).
SELECT commitopt.ensure_tenant('demo', 'Demo: FOCUS and CUR samples') AS demo \gset
SELECT format('    imported %s: %s lines of %s, billing period %s', e, line_count,
			  format, to_char(billing_period_start, 'YYYY-MM'))
  FROM (VALUES ('focus-sample-1000', '/usage/focus-1.0-sample/focus_sample_1000_days01-23.csv'),
			   ('focus-sample-10000', '/usage/focus-1.0-sample-10000-subset/focus_sample_10000_subset_days01-23.csv'),
			   ('cur-legacy-sample', '/usage/cur-legacy-anonymized/aws_cur_legacy_anonymized_2023-11-01_to_10.csv'))
	   AS f(e, file),
	   LATERAL commitopt.import_billing_file(:'demo', :'datadir' || f.file, f.e);

-- Tenant 2: a generated (synthetic) fleet of one year, with commitments.
SELECT commitopt.ensure_tenant('synthetic', 'Demo: synthetic fleet (generated)') AS synthetic \gset
SELECT format('    generated the synthetic fleet: %s usage series',
			  commitopt.generate_synthetic_fleet(:'synthetic'));
SQL

# The demo tenant's first administrator.  Its password is generated on the
# first run and shown once: it is stored nowhere but as a hash.  It goes to
# psql on standard input, never on a command line other users could see.
demo_admin=admin@demo.example
if [[ $(psql_db -Atc "SELECT count(*) FROM commitopt.users WHERE lower(email) = '$demo_admin'") == 0 ]]; then
	password="Demo#$(openssl rand -base64 24 | tr -dc 'A-Za-z0-9' | cut -c1-16)7a"
	psql_db >/dev/null <<SQL
\\set email '$demo_admin'
\\set password '$password'
SELECT commitopt.create_tenant_with_admin('demo', 'Demo: FOCUS and CUR samples',
										  :'email', 'Dana', 'Okafor', :'password');
SQL
	if [[ $1 == main ]]; then
		log_step "demo console administrator: $demo_admin, password $password (shown only now)"
	else
		# a throwaway cluster: nobody logs in, so the password goes nowhere
		log_step "demo console administrator: $demo_admin (password not shown)"
	fi
	unset password
fi

log_step "running the main job: simulation and Savings Plan recommendation"
psql_db -At <<'SQL'
SET client_min_messages = warning;
SELECT format('    %s: simulation run %s', slug, commitopt.run_main_job(tenant_id))
  FROM commitopt.tenants ORDER BY slug;
SQL
