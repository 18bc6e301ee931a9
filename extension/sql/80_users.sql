-- commitopt install script, part 8: console users and the password policy.
--
-- Tenants' people log in to the console with an e-mail and a password.
-- The rules a password must meet are checked, and passwords hashed, in C
-- (extension/password_*.c); this file holds the users, their password
-- history and the functions that manage them.  Until sessions exist, each
-- function takes the acting user as its first argument and checks that
-- user's rights; EXECUTE is revoked from PUBLIC so that only the entry
-- point (next issue) and superusers can call them.
--
-- No function here puts a password, or its hash, into a message: inputs are
-- validated before any INSERT or UPDATE, because a CHECK violation would
-- echo the whole row, hash included.

-- The policy in C: the password may be text or bytea (bytea lets a caller
-- hand over bytes that are not valid text, which are then refused).
CREATE FUNCTION commitopt.password_check(password text,
										 first_name text DEFAULT NULL,
										 last_name text DEFAULT NULL,
										 email text DEFAULT NULL,
										 history text[] DEFAULT NULL)
RETURNS TABLE (rule text, message text)
LANGUAGE c VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_password_check';
COMMENT ON FUNCTION commitopt.password_check(text, text, text, text, text[])
	IS 'Every password rule a candidate fails (none: it passes), without raising';

CREATE FUNCTION commitopt.password_check(password bytea,
										 first_name text DEFAULT NULL,
										 last_name text DEFAULT NULL,
										 email text DEFAULT NULL,
										 history text[] DEFAULT NULL)
RETURNS TABLE (rule text, message text)
LANGUAGE c VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_password_check';

CREATE FUNCTION commitopt.password_enforce(password text, first_name text,
										   last_name text, email text,
										   history text[])
RETURNS text
LANGUAGE c VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_password_enforce';
COMMENT ON FUNCTION commitopt.password_enforce(text, text, text, text, text[])
	IS 'Raises one error listing every failed rule, or returns the argon2id hash to store';

CREATE FUNCTION commitopt.password_enforce(password bytea, first_name text,
										   last_name text, email text,
										   history text[])
RETURNS text
LANGUAGE c VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_password_enforce';

CREATE FUNCTION commitopt.password_is_common(password text)
RETURNS boolean
LANGUAGE c STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'commitopt_password_is_common';
COMMENT ON FUNCTION commitopt.password_is_common(text)
	IS 'Whether a password, or a look-alike or trimmed form of it, is on the common-password blocklist';

CREATE FUNCTION commitopt.password_hash(password text)
RETURNS text
LANGUAGE c STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'commitopt_password_hash';
COMMENT ON FUNCTION commitopt.password_hash(text)
	IS 'The argon2id hash of a password at the current cost settings (no policy check)';

CREATE FUNCTION commitopt.password_verify(password text, hash text)
RETURNS boolean
LANGUAGE c STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'commitopt_password_verify';
COMMENT ON FUNCTION commitopt.password_verify(text, text)
	IS 'Whether a password matches an argon2id hash (constant-time comparison)';

CREATE FUNCTION commitopt.password_hash_needs_upgrade(hash text)
RETURNS boolean
LANGUAGE c STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'commitopt_password_hash_needs_upgrade';
COMMENT ON FUNCTION commitopt.password_hash_needs_upgrade(text)
	IS 'Whether a hash was made at a lower cost than the current settings';

-- Users of the console, one tenant each; e-mail addresses are unique
-- across the service, compared case-insensitively.
CREATE TABLE commitopt.users (
	tenant_id uuid NOT NULL REFERENCES commitopt.tenants ON DELETE CASCADE,
	user_id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
	email text NOT NULL CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'
							   AND length(email) <= 254),
	first_name text NOT NULL CHECK (btrim(first_name) <> ''
									AND length(first_name) <= 100),
	last_name text NOT NULL CHECK (btrim(last_name) <> ''
								   AND length(last_name) <= 100),
	role text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
	disabled boolean NOT NULL DEFAULT false,
	password_hash text NOT NULL,
	password_changed_at timestamptz NOT NULL DEFAULT now(),
	must_change_password boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, user_id)
);
CREATE UNIQUE INDEX users_email_key ON commitopt.users (lower(email));
COMMENT ON TABLE commitopt.users IS 'Console users of each tenant';

-- The most recent passwords of each user (the current one included), as
-- argon2id hashes each with its own salt and cost; pruned to
-- commitopt.password_history entries at every change.
CREATE TABLE commitopt.password_history (
	tenant_id uuid NOT NULL,
	user_id uuid NOT NULL,
	entry_id bigint GENERATED ALWAYS AS IDENTITY,
	password_hash text NOT NULL,
	set_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, user_id, entry_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES commitopt.users
		ON DELETE CASCADE
);

-- Tenant isolation, as for every tenant table; the functions below run as
-- the extension owner.  Nobody else reads hashes directly.
ALTER TABLE commitopt.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE commitopt.password_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_tenant ON commitopt.users
	USING (tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant());
CREATE POLICY password_history_tenant ON commitopt.password_history
	USING (tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant());
REVOKE ALL ON commitopt.users, commitopt.password_history FROM PUBLIC;

-- user_check_characters(field, value, joiners_allowed): raises when a
-- profile value holds a control character (C0, DEL, C1) or an invisible
-- one (zero-width, direction override or isolate, soft hyphen, byte-order
-- mark), which make two addresses or names look the same or reorder a
-- log line.  Zero-width joiners and non-joiners are allowed in names
-- (Persian and Indic scripts need them), never in e-mail addresses.  The
-- message names the field and the character, never the value.
CREATE FUNCTION commitopt.user_check_characters(field text, value text,
												joiners_allowed boolean)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pos integer := regexp_instr(value, CASE WHEN joiners_allowed
		THEN '[\u0001-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]'
		ELSE '[\u0001-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]'
		END);
BEGIN
	IF pos > 0 THEN
		RAISE EXCEPTION 'invalid %: character % is a control or invisible character',
			field, pos
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Character %s is U+%s.', pos,
						upper(lpad(to_hex(ascii(substr(value, pos, 1))), 4, '0'))),
				  HINT = 'Type the value again rather than pasting it.';
	END IF;
END
$$;

-- user_check_name(field, value): raises unless a first or last name is
-- present and at most 100 characters.  A name made only of white space
-- (any Unicode space) or invisible characters is blank.
CREATE FUNCTION commitopt.user_check_name(field text, value text)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF value IS NULL OR value ~ '^[[:space:]\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u3000\u2060\ufeff]*$'
	   OR length(value) > 100 THEN
		RAISE EXCEPTION 'invalid % "%"', field, value
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('A %s is not blank and has at most 100 characters.', field);
	END IF;
END
$$;

-- user_check_profile(email, first_name, last_name, role): raises on a bad
-- value, naming it, before it can reach a CHECK constraint.
CREATE FUNCTION commitopt.user_check_profile(email text, first_name text,
											 last_name text, role text)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM commitopt.user_check_characters('e-mail address', email, false);
	PERFORM commitopt.user_check_characters('first name', first_name, true);
	PERFORM commitopt.user_check_characters('last name', last_name, true);
	IF email IS NULL OR email !~ '^[^@[:space:]]+@[^@[:space:]]+$'
	   OR length(email) > 254 THEN
		RAISE EXCEPTION 'invalid e-mail address "%"', email
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'An e-mail address has one "@", no spaces and at most 254 characters.';
	END IF;
	PERFORM commitopt.user_check_name('first name', first_name);
	PERFORM commitopt.user_check_name('last name', last_name);
	IF role IS NULL OR role NOT IN ('admin', 'member', 'viewer') THEN
		RAISE EXCEPTION 'invalid user role "%"', role
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A role is admin, member or viewer.';
	END IF;
END
$$;

-- user_check_email_free(email, except_user): raises if another user has
-- the address, in any case.
CREATE FUNCTION commitopt.user_check_email_free(email text, except_user uuid)
RETURNS void LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM commitopt.users u
				WHERE lower(u.email) = lower(user_check_email_free.email)
				  AND u.user_id IS DISTINCT FROM except_user) THEN
		RAISE EXCEPTION 'e-mail address "%" is already in use', email
			USING ERRCODE = 'unique_violation';
	END IF;
END
$$;

-- user_acting(acting_user, need_admin): the acting user's row, or
-- an error if it does not exist, is disabled or (with need_admin) is no
-- administrator.  Unknown and disabled users get the same message.
CREATE FUNCTION commitopt.user_acting(acting_user uuid, need_admin boolean)
RETURNS commitopt.users LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users;
BEGIN
	SELECT * INTO actor FROM commitopt.users u
	 WHERE u.user_id = acting_user AND NOT u.disabled;
	-- Through the API (the caller is not a superuser) the acting user is
	-- the user of the request's verified claim and nobody else; otherwise a
	-- route handler could act as another tenant's user.  Same answer as for
	-- a user that does not exist, so nothing tells the two apart.
	IF FOUND AND NOT commitopt.caller_is_superuser()
	   AND acting_user IS DISTINCT FROM commitopt.current_user_id() THEN
		actor := NULL;
	END IF;
	IF actor.user_id IS NULL THEN
		RAISE EXCEPTION 'acting user does not exist or is disabled'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('The acting user is %s.', acting_user);
	END IF;
	IF need_admin AND actor.role <> 'admin' THEN
		RAISE EXCEPTION 'permission denied to manage the users of this tenant'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('The acting user has the role %s; only an admin may.', actor.role);
	END IF;
	RETURN actor;
END
$$;

-- user_target(actor, user_id): the row of a user of the actor's tenant,
-- locked; another tenant's user is reported as not existing.
CREATE FUNCTION commitopt.user_target(actor commitopt.users, target uuid)
RETURNS commitopt.users LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u commitopt.users;
BEGIN
	-- Serializes changes of one tenant's users, so that two admins cannot
	-- demote each other at once and leave the tenant without one.  An
	-- advisory lock, not a row lock on the tenant, which would need the
	-- right to update tenants.
	PERFORM pg_advisory_xact_lock(hashtextextended(
		'commitopt user changes ' || actor.tenant_id::text, 0));
	SELECT * INTO u FROM commitopt.users x
	 WHERE x.tenant_id = actor.tenant_id AND x.user_id = target FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user does not exist in the acting user''s tenant'
			USING ERRCODE = 'no_data_found',
				  DETAIL = format('The user asked for is %s.', target);
	END IF;
	RETURN u;
END
$$;

-- user_keep_an_admin(target, stays_admin): raises when the change would
-- leave the target's tenant without an enabled administrator.
CREATE FUNCTION commitopt.user_keep_an_admin(target commitopt.users,
											 stays_admin boolean)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF target.role = 'admin' AND NOT target.disabled AND NOT stays_admin
	   AND NOT EXISTS (SELECT 1 FROM commitopt.users u
						WHERE u.tenant_id = target.tenant_id
						  AND u.user_id <> target.user_id
						  AND u.role = 'admin' AND NOT u.disabled) THEN
		RAISE EXCEPTION 'cannot remove the last administrator of the tenant'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'The user is the only enabled admin of the tenant.',
				  HINT = 'Make another user admin first.';
	END IF;
END
$$;

-- user_store_password(user, hash, must_change): makes a checked hash the
-- user's password and keeps the newest commitopt.password_history entries.
CREATE FUNCTION commitopt.user_store_password(u commitopt.users, hash text,
											  must_change boolean)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE commitopt.users x
	   SET password_hash = hash, password_changed_at = now(),
		   must_change_password = must_change
	 WHERE x.tenant_id = u.tenant_id AND x.user_id = u.user_id;
	INSERT INTO commitopt.password_history (tenant_id, user_id, password_hash)
	VALUES (u.tenant_id, u.user_id, hash);
	DELETE FROM commitopt.password_history h
	 WHERE h.tenant_id = u.tenant_id AND h.user_id = u.user_id
	   AND h.entry_id NOT IN (
			SELECT k.entry_id FROM commitopt.password_history k
			 WHERE k.tenant_id = u.tenant_id AND k.user_id = u.user_id
			 ORDER BY k.entry_id DESC
			 LIMIT current_setting('commitopt.password_history')::int);
END
$$;

-- user_recent_hashes(user): the hashes of the user's most recent
-- passwords, the current one included, newest first.
CREATE FUNCTION commitopt.user_recent_hashes(u commitopt.users)
RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN ARRAY(SELECT h.password_hash FROM commitopt.password_history h
			  WHERE h.tenant_id = u.tenant_id AND h.user_id = u.user_id
			  ORDER BY h.entry_id DESC
			  LIMIT current_setting('commitopt.password_history')::int);

-- user_insert(tenant, email, first, last, role, password, must_change):
-- checks and stores a new user; returns its id.
CREATE FUNCTION commitopt.user_insert(tenant uuid, email text,
									  first_name text, last_name text,
									  role text, password text,
									  must_change boolean)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	hash text;
	u commitopt.users;
BEGIN
	PERFORM commitopt.user_check_profile(email, first_name, last_name, role);
	PERFORM commitopt.user_check_email_free(email, NULL);
	hash := commitopt.password_enforce(password, first_name, last_name,
									   email, NULL);
	INSERT INTO commitopt.users AS x (tenant_id, email, first_name, last_name,
									  role, password_hash, must_change_password)
	VALUES (tenant, email, first_name, last_name, role, hash, must_change)
	RETURNING * INTO u;
	INSERT INTO commitopt.password_history (tenant_id, user_id, password_hash)
	VALUES (u.tenant_id, u.user_id, hash);
	PERFORM commitopt.audit_record(u.tenant_id, commitopt.current_user_id(),
								   commitopt.current_user_role(), NULL,
								   'user_created', u.user_id::text,
								   jsonb_build_object('new', jsonb_build_object(
										'email', u.email, 'role', u.role)));
	RETURN u.user_id;
END
$$;

-- create_tenant_with_admin(slug, name, admin_email, first_name, last_name,
-- password): an operator creates a tenant and its first administrator;
-- returns the administrator's id.  Running it again for the same tenant
-- and e-mail returns the existing user unchanged (set-up scripts rerun).
CREATE FUNCTION commitopt.create_tenant_with_admin(slug text, name text,
												   admin_email text,
												   first_name text,
												   last_name text,
												   password text)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	tenant uuid;
	existing commitopt.users;
BEGIN
	tenant := commitopt.ensure_tenant(slug, name);
	SELECT * INTO existing FROM commitopt.users u
	 WHERE lower(u.email) = lower(admin_email);
	IF FOUND THEN
		IF existing.tenant_id <> tenant THEN
			RAISE EXCEPTION 'e-mail address "%" is already in use', admin_email
				USING ERRCODE = 'unique_violation';
		END IF;
		RETURN existing.user_id;
	END IF;
	RETURN commitopt.user_insert(tenant, admin_email, first_name, last_name,
								 'admin', password, false);
END
$$;

-- create_user(acting_user, email, first_name, last_name, role, password):
-- an administrator adds a user to their tenant; the user must choose a
-- new password at first login.  Returns the new user's id.
CREATE FUNCTION commitopt.create_user(acting_user uuid, email text,
									  first_name text, last_name text,
									  role text, password text)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users := commitopt.user_acting(acting_user, true);
BEGIN
	RETURN commitopt.user_insert(actor.tenant_id, email, first_name,
								 last_name, role, password, true);
END
$$;

-- update_user(acting_user, user_id, email, first_name, last_name, role):
-- an administrator changes a user's profile; NULL keeps a value.
CREATE FUNCTION commitopt.update_user(acting_user uuid, user_id uuid,
									  email text DEFAULT NULL,
									  first_name text DEFAULT NULL,
									  last_name text DEFAULT NULL,
									  role text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users := commitopt.user_acting(acting_user, true);
	u commitopt.users := commitopt.user_target(actor, user_id);
	new_email text := coalesce(email, u.email);
	new_first text := coalesce(first_name, u.first_name);
	new_last text := coalesce(last_name, u.last_name);
	new_role text := coalesce(role, u.role);
BEGIN
	PERFORM commitopt.user_check_profile(new_email, new_first, new_last, new_role);
	PERFORM commitopt.user_check_email_free(new_email, u.user_id);
	PERFORM commitopt.user_keep_an_admin(u, new_role = 'admin');
	UPDATE commitopt.users x
	   SET email = new_email, first_name = new_first, last_name = new_last,
		   role = new_role
	 WHERE x.tenant_id = u.tenant_id AND x.user_id = u.user_id;
	PERFORM commitopt.audit_record(u.tenant_id, actor.user_id, actor.role, NULL,
		'user_changed', u.user_id::text,
		jsonb_build_object(
			'old', jsonb_build_object('email', u.email, 'first_name', u.first_name,
									  'last_name', u.last_name, 'role', u.role),
			'new', jsonb_build_object('email', new_email, 'first_name', new_first,
									  'last_name', new_last, 'role', new_role)));
	-- in this transaction: the user's next request sees the new role
	PERFORM commitopt.sessions_on_role_change(u.tenant_id, u.user_id, u.role,
											  new_role, actor.user_id,
											  actor.role);
END
$$;

-- disable_user(acting_user, user_id, disabled): an administrator disables
-- (or enables again) a user, who can then no longer log in.
CREATE FUNCTION commitopt.disable_user(acting_user uuid, user_id uuid,
									   disabled boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users := commitopt.user_acting(acting_user, true);
	u commitopt.users := commitopt.user_target(actor, user_id);
BEGIN
	IF disabled IS NULL THEN
		RAISE EXCEPTION 'disabled must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF disabled THEN
		PERFORM commitopt.user_keep_an_admin(u, false);
	END IF;
	UPDATE commitopt.users x SET disabled = disable_user.disabled
	 WHERE x.tenant_id = u.tenant_id AND x.user_id = u.user_id;
	PERFORM commitopt.audit_record(u.tenant_id, actor.user_id, actor.role, NULL,
								   'user_disabled', u.user_id::text,
								   jsonb_build_object('old', u.disabled,
													  'new', disable_user.disabled));
	IF disabled THEN
		PERFORM commitopt.sessions_revoke(u.tenant_id, u.user_id,
										  'user_disabled', NULL,
										  actor.user_id, actor.role);
	END IF;
END
$$;

-- delete_user(acting_user, user_id): an administrator deletes a user and
-- the user's password history.
CREATE FUNCTION commitopt.delete_user(acting_user uuid, user_id uuid)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users := commitopt.user_acting(acting_user, true);
	u commitopt.users := commitopt.user_target(actor, user_id);
BEGIN
	PERFORM commitopt.user_keep_an_admin(u, false);
	PERFORM commitopt.sessions_revoke(u.tenant_id, u.user_id, 'user_deleted',
									  NULL, actor.user_id, actor.role);
	PERFORM commitopt.audit_record(u.tenant_id, actor.user_id, actor.role, NULL,
								   'user_deleted', u.user_id::text,
								   jsonb_build_object('old', jsonb_build_object(
										'email', u.email, 'role', u.role)));
	DELETE FROM commitopt.users x
	 WHERE x.tenant_id = u.tenant_id AND x.user_id = u.user_id;
END
$$;

-- tenant_users(acting_user): the users of the acting user's tenant,
-- without their hashes; any enabled user may list them.
CREATE FUNCTION commitopt.tenant_users(acting_user uuid)
RETURNS TABLE (user_id uuid, email text, first_name text, last_name text,
			   role text, disabled boolean, must_change_password boolean,
			   password_changed_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users := commitopt.user_acting(acting_user, false);
BEGIN
	RETURN QUERY
	SELECT u.user_id, u.email, u.first_name, u.last_name, u.role, u.disabled,
		   u.must_change_password, u.password_changed_at
	  FROM commitopt.users u
	 WHERE u.tenant_id = actor.tenant_id
	 ORDER BY lower(u.email);
END
$$;

-- change_password(acting_user, current_password, new_password): users
-- change their own password by giving the current one.  A wrong current
-- password changes nothing (28P01); a new one that breaks the policy gets
-- one error listing every rule it fails.
CREATE FUNCTION commitopt.change_password(acting_user uuid,
										  current_password text,
										  new_password text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users := commitopt.user_acting(acting_user, false);
	hash text;
BEGIN
	-- read again under a lock: a concurrent change must not slip between
	SELECT * INTO actor FROM commitopt.users x
	 WHERE x.tenant_id = actor.tenant_id AND x.user_id = actor.user_id
	   FOR UPDATE;
	IF current_password IS NULL
	   OR NOT commitopt.password_verify(current_password, actor.password_hash) THEN
		RAISE EXCEPTION 'current password is incorrect'
			USING ERRCODE = 'invalid_password';
	END IF;
	hash := commitopt.password_enforce(new_password, actor.first_name,
									   actor.last_name, actor.email,
									   commitopt.user_recent_hashes(actor));
	PERFORM commitopt.user_store_password(actor, hash, false);
	PERFORM commitopt.audit_record(actor.tenant_id, actor.user_id, actor.role,
								   NULL, 'password_changed',
								   actor.user_id::text, NULL);
	-- the user's other sessions end; the one making the change stays
	PERFORM commitopt.sessions_revoke(actor.tenant_id, actor.user_id,
									  'password_changed',
									  commitopt.current_session_id(),
									  actor.user_id, actor.role);
END
$$;

-- reset_password(acting_user, user_id, temporary_password): an
-- administrator gives a user a temporary password, which must meet the
-- policy too; the user must choose a new one at next login.
CREATE FUNCTION commitopt.reset_password(acting_user uuid, user_id uuid,
										 temporary_password text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users := commitopt.user_acting(acting_user, true);
	u commitopt.users := commitopt.user_target(actor, user_id);
	hash text;
BEGIN
	hash := commitopt.password_enforce(temporary_password, u.first_name,
									   u.last_name, u.email,
									   commitopt.user_recent_hashes(u));
	PERFORM commitopt.user_store_password(u, hash, true);
	PERFORM commitopt.audit_record(u.tenant_id, actor.user_id, actor.role,
								   NULL, 'password_reset', u.user_id::text,
								   NULL);
	PERFORM commitopt.sessions_revoke(u.tenant_id, u.user_id, 'password_reset',
									  NULL, actor.user_id, actor.role);
END
$$;

-- password_check_for_user(acting_user, password): the rules a new password
-- of the acting user would fail, history included, without raising.
CREATE FUNCTION commitopt.password_check_for_user(acting_user uuid,
												  password text)
RETURNS TABLE (rule text, message text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users := commitopt.user_acting(acting_user, false);
BEGIN
	RETURN QUERY
	SELECT c.rule, c.message
	  FROM commitopt.password_check(password, actor.first_name,
									actor.last_name, actor.email,
									commitopt.user_recent_hashes(actor)) c;
END
$$;

-- verify_login(email, password): the user an e-mail and password identify,
-- or no row.  Unknown e-mail, disabled user and wrong password all give
-- no row after the same argon2id work, so the answer and its timing do
-- not tell which.  A hash made at a lower cost than the current settings
-- is replaced on success, in the user's row and in the history.  No row
-- is the caller's cue to count a failure.
CREATE FUNCTION commitopt.verify_login(email text, password text)
RETURNS TABLE (user_id uuid, tenant_id uuid, role text,
			   must_change_password boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u commitopt.users;
	stronger text;
BEGIN
	IF email IS NULL OR password IS NULL THEN
		RETURN;
	END IF;
	SELECT * INTO u FROM commitopt.users x
	 WHERE lower(x.email) = lower(verify_login.email);
	IF NOT FOUND THEN
		-- the same work as a verification, for the same timing
		PERFORM commitopt.password_hash(password);
		RETURN;
	END IF;
	IF NOT commitopt.password_verify(password, u.password_hash) OR u.disabled THEN
		RETURN;
	END IF;
	IF commitopt.password_hash_needs_upgrade(u.password_hash) THEN
		stronger := commitopt.password_hash(password);
		UPDATE commitopt.users x
		   SET password_hash = stronger
		 WHERE x.tenant_id = u.tenant_id AND x.user_id = u.user_id;
		-- the history holds the same weak string for the current password:
		-- upgrade it too, or it would outlive the upgrade.  XXX: entries
		-- of older passwords stay at their cost (their passwords are
		-- unknown) until they leave the history.
		UPDATE commitopt.password_history h
		   SET password_hash = stronger
		 WHERE h.tenant_id = u.tenant_id AND h.user_id = u.user_id
		   AND h.password_hash = u.password_hash;
	END IF;
	RETURN QUERY SELECT u.user_id, u.tenant_id, u.role, u.must_change_password;
END
$$;

-- Until sessions exist, the acting-user functions trust their first
-- argument: only superusers (and, later, the entry point) may call them.
REVOKE EXECUTE ON FUNCTION
	commitopt.create_tenant_with_admin(text, text, text, text, text, text),
	commitopt.create_user(uuid, text, text, text, text, text),
	commitopt.update_user(uuid, uuid, text, text, text, text),
	commitopt.disable_user(uuid, uuid, boolean),
	commitopt.delete_user(uuid, uuid),
	commitopt.tenant_users(uuid),
	commitopt.change_password(uuid, text, text),
	commitopt.reset_password(uuid, uuid, text),
	commitopt.password_check_for_user(uuid, text),
	commitopt.verify_login(text, text),
	commitopt.user_check_email_free(text, uuid),
	commitopt.user_acting(uuid, boolean),
	commitopt.user_target(commitopt.users, uuid),
	commitopt.user_keep_an_admin(commitopt.users, boolean),
	commitopt.user_store_password(commitopt.users, text, boolean),
	commitopt.user_recent_hashes(commitopt.users),
	commitopt.user_insert(uuid, text, text, text, text, text, boolean)
FROM PUBLIC;
