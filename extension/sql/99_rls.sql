-- commitopt install script, last part: ownership, row-level security and
-- privileges, derived from the catalog.
--
-- This part runs after every part that creates tables (keep its file name
-- sorting last), and covers them by
-- looking them up rather than by a list, so a table added later cannot be
-- forgotten: every table of the schema with a tenant_id column gets
-- row-level security ENABLED and FORCED and, unless its own part created
-- policies, one policy comparing tenant_id with current_tenant() for
-- reading and writing.  The test sql/isolation_catalog.sql checks the
-- outcome the same way, and fails for anything not covered.
--
-- Tables without tenant_id are either reference data every tenant reads
-- (prices, platforms, instance types), the analyst grants (reference data
-- that only the owner role reads, for current_tenant()), or the login
-- bookkeeping, which gets forced row-level security with no policy at all:
-- only commitopt_auth (BYPASSRLS) reaches it.

-- The owner role owns the tables, views and sequences, so that nothing
-- queried by the extension's own functions escapes row-level security.
-- The user-management functions of 80_users.sql take the acting user as
-- an argument and filter by its tenant themselves, so they must see every
-- tenant's users (an e-mail address is unique across tenants): they are
-- owned by commitopt_auth (BYPASSRLS), not by the installing superuser,
-- with the table privileges they use granted below.
-- So are the writers of AWS connections and jobs, which act for the
-- tenant they are given.  create_tenant_with_admin() stays the
-- superuser's: only operators call it.
GRANT USAGE ON SCHEMA commitopt TO commitopt_owner, commitopt_auth,
	commitopt_analyst;

DO $rls$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT c.oid::regclass AS rel, c.relname, c.relkind,
			   EXISTS (SELECT FROM pg_attribute a
						WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
						  AND NOT a.attisdropped) AS has_tenant,
			   EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid) AS has_policy
		  FROM pg_class c
		 WHERE c.relnamespace = 'commitopt'::regnamespace
		   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		 ORDER BY c.relname
	LOOP
		-- The audit trail belongs to commitopt_auth, whose functions append
		-- to every tenant's chain and create its partitions
		-- (89_audit_contract.sql); it has its own policies.
		IF r.relname IN ('audit_log', 'audit_chain_heads') THEN
			EXECUTE format('ALTER TABLE %s OWNER TO commitopt_auth', r.rel);
			CONTINUE;
		END IF;
		EXECUTE format('ALTER TABLE %s OWNER TO commitopt_owner', r.rel);
		IF r.relkind = 'v' THEN
			EXECUTE format('ALTER VIEW %s SET (security_invoker = true)', r.rel);
			CONTINUE;
		END IF;
		IF r.relkind NOT IN ('r', 'p') THEN
			CONTINUE;
		END IF;
		-- analyst_grants maps roles to tenants: it is read to find the
		-- tenant, so it cannot be filtered by it (reference data)
		IF r.has_tenant AND r.relname <> 'analyst_grants' THEN
			EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.rel);
			EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', r.rel);
			IF NOT r.has_policy THEN
				EXECUTE format('CREATE POLICY %I ON %s
								USING (tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant())
								WITH CHECK (tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant())',
							   r.relname || '_tenant', r.rel);
			END IF;
		ELSIF r.relname IN ('login_failures', 'login_lockouts') THEN
			EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.rel);
			EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', r.rel);
		END IF;
	END LOOP;
END
$rls$;

-- The functions written for tenant-scoped work run as the owner role,
-- under the claim.
ALTER FUNCTION commitopt.session_end_claim() OWNER TO commitopt_owner;

-- The reviewed cross-tenant functions, owned by the NOLOGIN BYPASSRLS role:
-- login (user lookup by e-mail, failure counting), session lookup by
-- token hash, revocation of one user's sessions by explicit tenant, the
-- reaper's housekeeping, and the audit trail, which records failures of
-- unknown e-mail addresses too.
ALTER FUNCTION commitopt.verify_login(text, text) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.session_login(text, text, inet) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.session_authenticate(text) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.sessions_revoke(uuid, uuid, text, uuid, uuid, text)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.sessions_on_role_change(uuid, uuid, text, text, uuid, text)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.sessions_reap() OWNER TO commitopt_auth;
GRANT SELECT (upload_session), DELETE ON commitopt.billing_upload
	TO commitopt_auth;
GRANT EXECUTE ON FUNCTION commitopt.upload_session_is_live(text)
	TO commitopt_auth;
-- The audit trail's writers and verifiers: every tenant's chain, the
-- partitions (CREATE on the schema, for audit_partition()), and the
-- check that a recorded tenant exists.
ALTER FUNCTION commitopt.audit_record(uuid, uuid, text, inet, text, text, jsonb)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.audit_append(timestamptz, uuid, uuid, text, inet,
	text, text, jsonb) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.audit_partition(timestamptz) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.audit_log_head(uuid, bigint, bytea, text)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.verify_audit(uuid) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.verify_audit_head(uuid, bigint, text)
	OWNER TO commitopt_auth;
GRANT CREATE ON SCHEMA commitopt TO commitopt_auth;
GRANT SELECT ON commitopt.tenants TO commitopt_auth;
-- Reading a trail is for superusers and, through the entry point, the
-- tenant's administrators (audit_check_reader()).
REVOKE ALL ON FUNCTION commitopt.verify_audit(uuid),
	commitopt.verify_audit_head(uuid, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION commitopt.verify_audit(uuid),
	commitopt.verify_audit_head(uuid, bigint, text) TO commitopt_owner;
GRANT SELECT ON commitopt.audit_log, commitopt.audit_chain_heads
	TO commitopt_owner;

REVOKE ALL ON FUNCTION commitopt.session_login(text, text, inet),
	commitopt.session_authenticate(text),
	commitopt.sessions_revoke(uuid, uuid, text, uuid, uuid, text),
	commitopt.sessions_on_role_change(uuid, uuid, text, text, uuid, text),
	commitopt.revoke_user_sessions(uuid, uuid),
	commitopt.session_end_claim()
FROM PUBLIC;

ALTER FUNCTION commitopt.user_check_email_free(text, uuid) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.user_acting(uuid, boolean) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.user_target(commitopt.users, uuid) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.user_keep_an_admin(commitopt.users, boolean)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.user_store_password(commitopt.users, text, boolean)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.user_recent_hashes(commitopt.users) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.user_insert(uuid, text, text, text, text, text, boolean)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.create_user(uuid, text, text, text, text, text)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.update_user(uuid, uuid, text, text, text, text)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.disable_user(uuid, uuid, boolean) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.delete_user(uuid, uuid) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.tenant_users(uuid) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.change_password(uuid, text, text) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.reset_password(uuid, uuid, text) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.password_check_for_user(uuid, text) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.revoke_user_sessions(uuid, uuid) OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.aws_register(uuid, text, text, text, text)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.register_aws_account(uuid, text, text, text, text)
	OWNER TO commitopt_auth;
ALTER FUNCTION commitopt.enqueue_job(uuid, text, text) OWNER TO commitopt_auth;
GRANT SELECT, INSERT ON commitopt.aws_accounts, commitopt.aws_connections,
	commitopt.jobs, commitopt.tenant_data_keys TO commitopt_auth;
GRANT EXECUTE ON FUNCTION commitopt.secret_encrypt(uuid, text, text, text, text),
	commitopt.aws_random_external_id() TO commitopt_auth;

-- What each reviewed function reads and writes, and nothing more.
GRANT SELECT, INSERT, UPDATE, DELETE ON commitopt.users,
	commitopt.password_history TO commitopt_auth;
GRANT SELECT, INSERT, UPDATE, DELETE ON commitopt.sessions,
	commitopt.login_failures, commitopt.login_lockouts TO commitopt_auth;
GRANT EXECUTE ON FUNCTION commitopt.verify_login(text, text),
	commitopt.claim_mint(uuid, uuid, text, uuid, timestamptz),
	commitopt.session_token_new(),
	commitopt.audit_record(uuid, uuid, text, inet, text, text, jsonb),
	commitopt.sessions_revoke(uuid, uuid, text, uuid, uuid, text)
TO commitopt_auth;

-- The entry point (owned by commitopt_owner, 92_api.sql) calls these.
GRANT EXECUTE ON FUNCTION commitopt.session_login(text, text, inet),
	commitopt.session_authenticate(text),
	commitopt.sessions_revoke(uuid, uuid, text, uuid, uuid, text),
	commitopt.audit_record(uuid, uuid, text, inet, text, text, jsonb),
	commitopt.change_password(uuid, text, text),
	commitopt.revoke_user_sessions(uuid, uuid),
	commitopt.session_end_claim(),
	commitopt.register_aws_account(uuid, text, text, text, text),
	commitopt.enqueue_job(uuid, text, text)
TO commitopt_owner;

-- Analysts read their tenant's rows (row-level security filters) and the
-- reference data; never the users' hashes, sessions or the audit trail.
DO $grants$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT c.oid::regclass AS rel
		  FROM pg_class c
		 WHERE c.relnamespace = 'commitopt'::regnamespace
		   AND c.relkind IN ('r', 'p', 'v', 'm')
		   AND c.relname NOT IN ('users', 'password_history', 'sessions',
								 'login_failures', 'login_lockouts',
								 'audit_log', 'audit_chain_heads', 'analyst_grants')
	LOOP
		EXECUTE format('GRANT SELECT ON %s TO commitopt_analyst', r.rel);
	END LOOP;
END
$grants$;

-- Analysts load their own billing exports without file access: they
-- stream the lines into the view billing_upload_lines, whose trigger
-- (run as the owner role, under row-level security) stores them for the
-- session's tenant, and import them with import_my_billing_upload(),
-- which also runs as the owner role and so can read only the analyst's lines
-- and write only the analyst's tenant (current_tenant() follows the
-- analyst, not the definer).  DELETE serves discard_billing_upload().
GRANT INSERT ON commitopt.billing_upload_lines TO commitopt_analyst;
GRANT DELETE ON commitopt.billing_upload TO commitopt_analyst;
-- Upload lines belong to the database session that streamed them: other
-- sessions, of the same tenant too, neither see nor remove them (a
-- restrictive policy, on top of the tenant policy above).  Superusers,
-- who bypass row-level security, still see every session's lines.
CREATE POLICY billing_upload_own_session ON commitopt.billing_upload
	AS RESTRICTIVE
	USING (upload_session OPERATOR(pg_catalog.=) commitopt.upload_session())
	WITH CHECK (upload_session OPERATOR(pg_catalog.=) commitopt.upload_session());
ALTER FUNCTION commitopt.billing_upload_line_insert() OWNER TO commitopt_owner;
ALTER FUNCTION commitopt.billing_upload_line_insert()
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION commitopt.import_my_billing_upload(text, timestamptz)
	OWNER TO commitopt_owner;
ALTER FUNCTION commitopt.import_my_billing_upload(text, timestamptz)
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
