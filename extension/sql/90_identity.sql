-- commitopt install script, part 9.0: roles, sessions, logins, claims.
--
-- A console user logs in with e-mail and password and gets an opaque token
-- (256 random bits; only its SHA-256 is stored).  Each request presents
-- the token to the API entry point (92_api.sql), which calls
-- session_authenticate(): it checks the time limits, records activity and
-- sets a signed claim for the rest of the transaction, from which
-- current_tenant(), current_user_id() and current_user_role() answer
-- (extension/claim.c).
--
-- A session is valid while now < last_activity + session_idle_timeout and
-- now < created_at + session_max_age ("now" is commitopt.clock_now(), which
-- tests set).  Activity is recorded at most every session_touch_interval:
-- the idle limit runs from the recorded activity, which is never later than
-- the true one, so throttling can only end a session early, never late;
-- nothing moves created_at.  Revoking a session deletes its row.

-- Roles are cluster-wide and several databases load the extension: each is
-- created only if missing.
--   commitopt_owner    owns the extension's objects; no login, no BYPASSRLS,
--                      so forced row-level security filters it too
--   commitopt_auth     owns the few reviewed functions that must look across
--                      tenants before identity is known; NOLOGIN, BYPASSRLS
--   commitopt_gateway  the gateway's login; may only call api.dispatch()
--   commitopt_analyst  group role of analysts, who read their tenant's rows
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'commitopt_owner') THEN
		CREATE ROLE commitopt_owner NOLOGIN NOBYPASSRLS;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'commitopt_auth') THEN
		CREATE ROLE commitopt_auth NOLOGIN BYPASSRLS;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'commitopt_gateway') THEN
		CREATE ROLE commitopt_gateway LOGIN NOBYPASSRLS;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'commitopt_analyst') THEN
		CREATE ROLE commitopt_analyst NOLOGIN NOBYPASSRLS;
	END IF;
END
$roles$;

-- verify_login (owned by commitopt_auth, 99_rls.sql) upgrades a weak hash
-- in the password history as well as in the user's row: that one column.
GRANT UPDATE (password_hash) ON commitopt.password_history TO commitopt_auth;

-- Bind parameters of the gateway's statements (tokens, passwords) never
-- reach the server log (FC-10), whatever log_min_duration_statement says.
ALTER ROLE commitopt_gateway SET log_parameter_max_length = 0;
ALTER ROLE commitopt_gateway SET log_parameter_max_length_on_error = 0;
-- The gateway's statements are short: compiling one with JIT costs more
-- (15 ms and up) than running it.
ALTER ROLE commitopt_gateway SET jit = off;

-- The claim, in C.  Minting is for commitopt_auth only (91_rls.sql).
CREATE FUNCTION commitopt.claim_mint(tenant uuid, user_id uuid, role text,
									 session_id uuid, expires timestamptz)
RETURNS text LANGUAGE c STRICT VOLATILE
AS 'MODULE_PATHNAME', 'commitopt_claim_mint';
REVOKE ALL ON FUNCTION commitopt.claim_mint(uuid, uuid, text, uuid, timestamptz)
	FROM PUBLIC;

CREATE FUNCTION commitopt.current_user_id()
RETURNS uuid LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_current_user_id';
COMMENT ON FUNCTION commitopt.current_user_id()
	IS 'The console user of the verified claim of this transaction, or NULL';

CREATE FUNCTION commitopt.current_user_role()
RETURNS text LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_current_user_role';
COMMENT ON FUNCTION commitopt.current_user_role()
	IS 'The console role of the verified claim of this transaction, or NULL';

CREATE FUNCTION commitopt.current_session_id()
RETURNS uuid LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_current_session_id';
COMMENT ON FUNCTION commitopt.current_session_id()
	IS 'The session of the verified claim of this transaction, or NULL';

CREATE FUNCTION commitopt.caller_is_superuser()
RETURNS boolean LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'commitopt_caller_is_superuser';
COMMENT ON FUNCTION commitopt.caller_is_superuser()
	IS 'Whether the caller (login role or SET ROLE, not a definer) is a superuser';

CREATE FUNCTION commitopt.clock_now()
RETURNS timestamptz LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'commitopt_clock_now';
COMMENT ON FUNCTION commitopt.clock_now()
	IS 'The time of the extension: commitopt.clock if set (tests), else now()';

CREATE FUNCTION commitopt.session_token_new()
RETURNS text LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'commitopt_session_token_new';
REVOKE ALL ON FUNCTION commitopt.session_token_new() FROM PUBLIC;

-- Console sessions.  token_hash is the SHA-256 of the token; role is the
-- user's role when the session was made or last narrowed.
CREATE TABLE commitopt.sessions (
	tenant_id uuid NOT NULL,
	session_id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
	user_id uuid NOT NULL,
	token_hash bytea NOT NULL,
	role text NOT NULL,
	created_at timestamptz NOT NULL,
	last_activity timestamptz NOT NULL,
	client_addr inet,
	PRIMARY KEY (tenant_id, session_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES commitopt.users
		ON DELETE CASCADE
);
CREATE UNIQUE INDEX sessions_token_hash_key ON commitopt.sessions (token_hash);
CREATE INDEX sessions_user_idx ON commitopt.sessions (tenant_id, user_id);
COMMENT ON TABLE commitopt.sessions IS 'Console sessions; only token hashes are stored';

-- Failed logins, keyed by the SHA-256 of the lower-cased e-mail address
-- (an unknown address is counted like a known one, so lockouts reveal
-- nothing, and mistyped addresses are not kept in clear) and by client
-- address.  Not tenant data: only commitopt_auth reads them.
CREATE TABLE commitopt.login_failures (
	failure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email_hash bytea NOT NULL,
	client_addr inet,
	at timestamptz NOT NULL
);
CREATE INDEX login_failures_email_idx ON commitopt.login_failures (email_hash, at);
CREATE INDEX login_failures_addr_idx ON commitopt.login_failures (client_addr, at);

CREATE TABLE commitopt.login_lockouts (
	email_hash bytea PRIMARY KEY,
	locked_at timestamptz NOT NULL,
	locked_until timestamptz NOT NULL
);

-- session_limits(): the two time limits, from the settings.
CREATE FUNCTION commitopt.session_limits(OUT idle interval, OUT max_age interval)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (current_setting('commitopt.session_idle_timeout')::interval,
		current_setting('commitopt.session_max_age')::interval);

-- session_ends_at(created_at, last_activity): when a session ends unless
-- there is activity before then.  Called on every request: it reads the
-- two settings directly (a function returning a record is never inlined)
-- and has no SET clause, so that the planner inlines it into the caller's
-- cached plan.  Its body is parsed at creation, so no search_path applies.
CREATE FUNCTION commitopt.session_ends_at(created_at timestamptz,
										  last_activity timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE
RETURN least(
	last_activity
	+ pg_catalog.current_setting('commitopt.session_idle_timeout')::interval,
	created_at
	+ pg_catalog.current_setting('commitopt.session_max_age')::interval);

-- token_hash(token): what is stored of a token.  No SET clause, so that
-- it is inlined (the body is parsed at creation, search_path plays no part).
CREATE FUNCTION commitopt.token_hash(token text)
RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
RETURN sha256(convert_to(token, 'UTF8'));

-- login_email_hash(email): the key of failed-login records.
CREATE FUNCTION commitopt.login_email_hash(email text)
RETURNS bytea LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN sha256(convert_to(lower(coalesce(email, '')), 'UTF8'));

-- session_login(email, password, client_addr): checks a login and makes a
-- session.  outcome is 'ok' (the other columns filled, token returned
-- once), 'failed' (wrong e-mail or password, or disabled: one answer for
-- all) or 'throttled' (the account is locked or the address has failed too
-- often).  Failures are recorded and may lock the account.  Reviewed
-- cross-tenant lookup: owned by commitopt_auth; returns nothing about an
-- account unless its password was given.
CREATE FUNCTION commitopt.session_login(email text, password text,
										client_addr inet,
										OUT outcome text, OUT token text,
										OUT session_id uuid, OUT user_id uuid,
										OUT tenant_id uuid, OUT role text,
										OUT must_change_password boolean,
										OUT expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	now_ timestamptz := commitopt.clock_now();
	window_ interval := current_setting('commitopt.login_failure_window')::interval;
	key bytea := commitopt.login_email_hash(email);
	lock_row commitopt.login_lockouts;
	v record;
	failures bigint;
BEGIN
	IF client_addr IS NOT NULL AND
	   (SELECT count(*) FROM commitopt.login_failures f
		 WHERE f.client_addr = session_login.client_addr
		   AND f.at > now_ - window_)
	   >= current_setting('commitopt.login_max_address_failures')::int THEN
		PERFORM commitopt.audit_record(NULL, NULL, NULL, client_addr,
									   'login_failure', NULL,
									   '{"reason": "address_limited"}');
		outcome := 'throttled';
		RETURN;
	END IF;

	SELECT * INTO lock_row FROM commitopt.login_lockouts l
	 WHERE l.email_hash = key AND l.locked_until > now_;
	IF FOUND THEN
		INSERT INTO commitopt.login_failures (email_hash, client_addr, at)
		VALUES (key, client_addr, now_);
		PERFORM commitopt.audit_record(NULL, NULL, NULL, client_addr,
									   'login_failure', NULL,
									   '{"reason": "account_locked"}');
		outcome := 'throttled';
		RETURN;
	END IF;

	SELECT * INTO v FROM commitopt.verify_login(email, password);
	IF v.user_id IS NULL THEN
		INSERT INTO commitopt.login_failures (email_hash, client_addr, at)
		VALUES (key, client_addr, now_);
		-- failures since the last lockout began, within the window
		SELECT count(*) INTO failures FROM commitopt.login_failures f
		 WHERE f.email_hash = key AND f.at > now_ - window_
		   AND f.at > coalesce((SELECT l.locked_at FROM commitopt.login_lockouts l
								 WHERE l.email_hash = key), '-infinity');
		PERFORM commitopt.audit_record(NULL, NULL, NULL, client_addr,
									   'login_failure', NULL,
									   '{"reason": "bad_credentials"}');
		IF failures >= current_setting('commitopt.login_max_failures')::int THEN
			INSERT INTO commitopt.login_lockouts AS l (email_hash, locked_at, locked_until)
			VALUES (key, now_, now_ + current_setting('commitopt.login_lockout')::interval)
			ON CONFLICT (email_hash) DO UPDATE
			   SET locked_at = excluded.locked_at,
				   locked_until = excluded.locked_until;
			PERFORM commitopt.audit_record(
				(SELECT u.tenant_id FROM commitopt.users u WHERE lower(u.email) = lower(session_login.email)),
				(SELECT u.user_id FROM commitopt.users u WHERE lower(u.email) = lower(session_login.email)),
				NULL, client_addr, 'account_locked', NULL,
				jsonb_build_object('failures', failures));
		END IF;
		outcome := 'failed';
		RETURN;
	END IF;

	DELETE FROM commitopt.login_failures f WHERE f.email_hash = key;
	DELETE FROM commitopt.login_lockouts l WHERE l.email_hash = key;
	token := commitopt.session_token_new();
	INSERT INTO commitopt.sessions AS s (tenant_id, user_id, token_hash, role,
										 created_at, last_activity, client_addr)
	VALUES (v.tenant_id, v.user_id, commitopt.token_hash(token), v.role,
			now_, now_, session_login.client_addr)
	RETURNING s.session_id INTO session_id;
	PERFORM commitopt.audit_record(v.tenant_id, v.user_id, v.role, client_addr,
								   'login_success', session_id::text, NULL);
	outcome := 'ok';
	user_id := v.user_id;
	tenant_id := v.tenant_id;
	role := v.role;
	must_change_password := v.must_change_password;
	expires_at := commitopt.session_ends_at(now_, now_);
END
$$;

-- session_authenticate(token): finds the live session of a token, records
-- the activity (throttled, see the top of this file), and sets the signed
-- claim for the rest of the transaction.  No row: no such session, or it
-- has ended.  The session row is locked FOR SHARE until the request's
-- transaction ends, so a concurrent role change or revocation either waits
-- for the request to finish or is seen by it.  Reviewed cross-tenant
-- lookup (by token hash only): owned by commitopt_auth.
CREATE FUNCTION commitopt.session_authenticate(token text)
RETURNS TABLE (session_id uuid, user_id uuid, tenant_id uuid, role text,
			   must_change_password boolean, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	now_ timestamptz := commitopt.clock_now();
	hash bytea;
	s commitopt.sessions;
	must_change boolean;
	ends timestamptz;
BEGIN
	IF token IS NULL OR token !~ '^[A-Za-z0-9_-]{43}$' THEN
		RETURN;
	END IF;
	hash := commitopt.token_hash(token);
	-- Record the activity first, if it is due, and only then take the
	-- share lock: two requests of one session that both held the share
	-- lock and then both updated the row would deadlock.  The update
	-- locks nothing when no touch is due; a concurrent request that
	-- touched first makes its condition false.  An ended session is never
	-- touched back to life.
	UPDATE commitopt.sessions x SET last_activity = now_
	 WHERE x.token_hash = hash
	   AND now_ - x.last_activity
		   >= current_setting('commitopt.session_touch_interval')::interval
	   AND now_ < commitopt.session_ends_at(x.created_at, x.last_activity);
	SELECT * INTO s FROM commitopt.sessions x
	 WHERE x.token_hash = hash
	   FOR SHARE;
	IF NOT FOUND OR NOT (now_ < commitopt.session_ends_at(s.created_at, s.last_activity)) THEN
		RETURN;
	END IF;
	SELECT u.must_change_password INTO must_change FROM commitopt.users u
	 WHERE u.tenant_id = s.tenant_id AND u.user_id = s.user_id AND NOT u.disabled;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	ends := commitopt.session_ends_at(s.created_at, s.last_activity);
	-- SET LOCAL rather than set_config(), which would read the value back,
	-- and only superusers may read it
	EXECUTE format('SET LOCAL commitopt.claim = %L',
				   commitopt.claim_mint(s.tenant_id, s.user_id, s.role,
										s.session_id, ends));
	RETURN QUERY SELECT s.session_id, s.user_id, s.tenant_id, s.role,
						must_change, ends;
END
$$;

-- session_end_claim(): drops the claim before the entry point returns, so
-- a caller cannot read it back from its own transaction (it is also
-- hidden from non-superusers) or use it after the request.
CREATE FUNCTION commitopt.session_end_claim()
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	SET LOCAL commitopt.claim = '';
END
$$;

-- sessions_revoke(tenant, user_id, reason, keep_session, actor_user,
-- actor_role): ends every session of a user except keep_session, and
-- records each in the audit trail; returns how many ended.  Called in the
-- transaction of the change that requires it.
CREATE FUNCTION commitopt.sessions_revoke(tenant uuid, target_user uuid,
										  reason text,
										  keep_session uuid DEFAULT NULL,
										  actor_user uuid DEFAULT NULL,
										  actor_role text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	ended uuid;
	n integer := 0;
BEGIN
	FOR ended IN
		DELETE FROM commitopt.sessions s
		 WHERE s.tenant_id = tenant AND s.user_id = target_user
		   AND s.session_id IS DISTINCT FROM keep_session
		RETURNING s.session_id
	LOOP
		PERFORM commitopt.audit_record(tenant, actor_user, actor_role, NULL,
									   'session_revoked', ended::text,
									   jsonb_build_object('reason', reason,
														  'user', target_user));
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;

-- sessions_on_role_change(tenant, user_id, old_role, new_role, actor):
-- a narrower role is applied to the user's live sessions at once; any
-- other change of role ends them (the user logs in again to get it).
CREATE FUNCTION commitopt.sessions_on_role_change(tenant uuid,
												  target_user uuid,
												  old_role text,
												  new_role text,
												  actor_user uuid,
												  actor_role text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	rank constant jsonb := '{"viewer": 1, "member": 2, "admin": 3}';
BEGIN
	IF old_role = new_role THEN
		RETURN;
	END IF;
	PERFORM commitopt.audit_record(tenant, actor_user, actor_role, NULL,
								   'role_changed', target_user::text,
								   jsonb_build_object('old', old_role,
													  'new', new_role));
	IF (rank ->> new_role)::int < (rank ->> old_role)::int THEN
		UPDATE commitopt.sessions s SET role = new_role
		 WHERE s.tenant_id = tenant AND s.user_id = target_user;
	ELSE
		PERFORM commitopt.sessions_revoke(tenant, target_user, 'role_changed',
										  NULL, actor_user, actor_role);
	END IF;
END
$$;

-- sessions_reap(): removes ended sessions, failed-login records no
-- window counts any more and the upload lines of disconnected database
-- sessions; returns how many sessions it removed.  Run by
-- the session reaper worker (extension/worker_sessions.c).
CREATE FUNCTION commitopt.sessions_reap()
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	now_ timestamptz := commitopt.clock_now();
	n integer;
BEGIN
	DELETE FROM commitopt.sessions s
	 WHERE NOT (now_ < commitopt.session_ends_at(s.created_at, s.last_activity));
	GET DIAGNOSTICS n = ROW_COUNT;
	DELETE FROM commitopt.login_failures f
	 WHERE f.at <= now_ - current_setting('commitopt.login_failure_window')::interval;
	DELETE FROM commitopt.login_lockouts l WHERE l.locked_until <= now_;
	-- upload lines whose streaming session has disconnected: nobody can
	-- import or discard them any more (each session is looked up once)
	DELETE FROM commitopt.billing_upload u
	 USING (SELECT DISTINCT b.upload_session
			  FROM commitopt.billing_upload b) d
	 WHERE u.upload_session = d.upload_session
	   AND NOT commitopt.upload_session_is_live(d.upload_session);
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION commitopt.sessions_reap() FROM PUBLIC;

-- revoke_user_sessions(acting_user, user_id): an administrator ends every
-- session of a user of the tenant; returns how many ended.
CREATE FUNCTION commitopt.revoke_user_sessions(acting_user uuid, user_id uuid)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users := commitopt.user_acting(acting_user, true);
	u commitopt.users := commitopt.user_target(actor, user_id);
BEGIN
	RETURN commitopt.sessions_revoke(u.tenant_id, u.user_id, 'admin_revoked',
									 NULL, actor.user_id, actor.role);
END
$$;

-- grant_analyst(role_name, tenant_slug) / revoke_analyst(role_name):
-- operators map an analyst's database role to a tenant, or remove the
-- mapping; both audited.  The role joins commitopt_analyst.  A removed
-- grant takes effect at the analyst's next transaction.
CREATE FUNCTION commitopt.grant_analyst(role_name name, tenant_slug text)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	tenant uuid := commitopt.tenant_id(tenant_slug);
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = role_name) THEN
		RAISE EXCEPTION 'role "%" does not exist', role_name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF EXISTS (SELECT FROM pg_roles r WHERE r.rolname = role_name
				AND (r.rolsuper OR r.rolbypassrls)) THEN
		RAISE EXCEPTION 'role "%" cannot be an analyst', role_name
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Row-level security does not apply to superusers and roles with BYPASSRLS.';
	END IF;
	INSERT INTO commitopt.analyst_grants AS g (role_name, tenant_id)
	VALUES (role_name, tenant)
	ON CONFLICT ON CONSTRAINT analyst_grants_pkey DO UPDATE SET tenant_id = excluded.tenant_id;
	EXECUTE format('GRANT commitopt_analyst TO %I', role_name);
	PERFORM commitopt.audit_record(tenant, NULL, session_user::text, NULL,
								   'analyst_grant_added', role_name::text, NULL);
END
$$;

CREATE FUNCTION commitopt.revoke_analyst(role_name name)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	tenant uuid;
BEGIN
	DELETE FROM commitopt.analyst_grants g WHERE g.role_name = revoke_analyst.role_name
	RETURNING g.tenant_id INTO tenant;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" has no analyst grant', role_name
			USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM commitopt.audit_record(tenant, NULL, session_user::text, NULL,
								   'analyst_grant_removed', role_name::text, NULL);
END
$$;
REVOKE ALL ON FUNCTION commitopt.grant_analyst(name, text),
	commitopt.revoke_analyst(name) FROM PUBLIC;
