-- commitopt install script: connected AWS accounts (onboarding), the
-- inventory they sync, and its history (extension/aws_client.c).
--
-- A customer creates an IAM role that trusts our principal under an
-- external ID that we generate; we keep role ARN and external ID sealed
-- (96_aws_secrets.sql).  The connection becomes active only after an
-- AssumeRole with that external ID succeeded.

CREATE TABLE commitopt.aws_connections (
	tenant_id uuid NOT NULL,
	account_id text NOT NULL CHECK (account_id ~ '^[0-9]{12}$'),
	role_arn_sealed bytea NOT NULL,
	external_id_sealed bytea NOT NULL,
	-- SHA-256 of the external ID: keeps it unique without decrypting
	external_id_hash bytea NOT NULL UNIQUE,
	region text NOT NULL DEFAULT 'us-east-1',
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'active', 'failed')),
	last_error text,
	verified_at timestamptz,
	last_sync_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, account_id),
	FOREIGN KEY (tenant_id, account_id)
		REFERENCES commitopt.aws_accounts ON DELETE CASCADE
);
REVOKE ALL ON commitopt.aws_connections FROM PUBLIC;

-- The instances seen by the last sync of each account.
CREATE TABLE commitopt.aws_instances (
	tenant_id uuid NOT NULL,
	account_id text NOT NULL,
	instance_id text NOT NULL,
	instance_type text NOT NULL,
	region text NOT NULL,
	availability_zone text NOT NULL,
	platform text NOT NULL REFERENCES commitopt.platforms,
	tenancy text NOT NULL REFERENCES commitopt.tenancies,
	state text NOT NULL,
	launch_time timestamptz,
	PRIMARY KEY (tenant_id, instance_id),
	FOREIGN KEY (tenant_id, account_id)
		REFERENCES commitopt.aws_accounts ON DELETE CASCADE
);

-- One row per sync of one account.
CREATE TABLE commitopt.aws_sync_runs (
	tenant_id uuid NOT NULL,
	sync_id bigint GENERATED ALWAYS AS IDENTITY,
	account_id text NOT NULL,
	synced_at timestamptz NOT NULL DEFAULT now(),
	calls int NOT NULL,
	assumes int NOT NULL,
	retries int NOT NULL,
	instances int NOT NULL,
	reserved_instances int NOT NULL,
	savings_plans int NOT NULL,
	PRIMARY KEY (tenant_id, sync_id)
);

-- What each sync changed: added, removed or changed items, with the
-- before and after values, so the inventory's history is kept.
CREATE TABLE commitopt.aws_inventory_history (
	tenant_id uuid NOT NULL,
	sync_id bigint NOT NULL,
	kind text NOT NULL CHECK (kind IN ('instance', 'reserved_instance', 'savings_plan')),
	item_id text NOT NULL,
	change text NOT NULL CHECK (change IN ('added', 'removed', 'changed')),
	before jsonb,
	after jsonb,
	PRIMARY KEY (tenant_id, sync_id, kind, item_id),
	FOREIGN KEY (tenant_id, sync_id) REFERENCES commitopt.aws_sync_runs ON DELETE CASCADE
);

-- The AWS actions the sync calls with the customer's role: the read-only
-- policy grants exactly these (a test compares them with the calls the
-- fake AWS saw).
CREATE FUNCTION commitopt.aws_read_actions()
RETURNS text[] LANGUAGE sql IMMUTABLE
RETURN ARRAY['ec2:DescribeInstances', 'ec2:DescribeReservedInstances',
			 'savingsplans:DescribeSavingsPlans'];

-- The actions needed to buy or exchange commitments; a separate, optional
-- policy.
CREATE FUNCTION commitopt.aws_purchase_actions()
RETURNS text[] LANGUAGE sql IMMUTABLE
RETURN ARRAY['ec2:DescribeReservedInstancesOfferings',
			 'ec2:PurchaseReservedInstancesOffering',
			 'ec2:GetReservedInstancesExchangeQuote',
			 'ec2:AcceptReservedInstancesExchangeQuote',
			 'savingsplans:DescribeSavingsPlansOfferings',
			 'savingsplans:CreateSavingsPlan'];

CREATE FUNCTION commitopt.aws_random_external_id()
RETURNS text LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'commitopt_random_external_id';
CREATE FUNCTION commitopt.aws_verify_role(tenant uuid, account text,
										  role_sealed bytea, extid_sealed bytea,
										  region text)
RETURNS int LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'commitopt_aws_verify_role';
CREATE FUNCTION commitopt.aws_fetch_inventory(tenant uuid, account text,
											  role_sealed bytea, extid_sealed bytea,
											  region text)
RETURNS jsonb LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'commitopt_aws_fetch_inventory';
REVOKE ALL ON FUNCTION commitopt.aws_random_external_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION commitopt.aws_verify_role FROM PUBLIC;
REVOKE ALL ON FUNCTION commitopt.aws_fetch_inventory FROM PUBLIC;

-- aws_validate_role_arn(account, arn): an error unless arn is an IAM role
-- ARN of that account in the aws, aws-us-gov or aws-cn partition.  Role
-- paths are "/" or "/segments/" of printable ASCII (at most 512 chars);
-- role names are 1-64 of letters, digits and +=,.@_-.
CREATE FUNCTION commitopt.aws_validate_role_arn(account text, arn text)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	m text[];
BEGIN
	IF account IS NULL OR account !~ '^[0-9]{12}$' THEN
		RAISE EXCEPTION 'invalid AWS account ID "%"', account
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'An AWS account ID is exactly 12 digits.';
	END IF;
	m := regexp_match(arn, '^arn:(aws|aws-us-gov|aws-cn):iam::([0-9]{12}):role(/|/[!-~]*/)([A-Za-z0-9+=,.@_-]{1,64})$');
	IF m IS NULL OR length(m[3]) > 512 OR m[3] ~ '//' THEN
		RAISE EXCEPTION 'invalid IAM role ARN "%"', arn
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Expected arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME with partition aws, aws-us-gov or aws-cn.';
	END IF;
	IF m[2] <> account THEN
		RAISE EXCEPTION 'role ARN "%" belongs to account %, not %', arn, m[2], account
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;

-- aws_policies(external_id, partition): the trust policy and the two
-- permission policies shown to the customer before anything is granted.
CREATE FUNCTION commitopt.aws_policies(external_id text, partition text DEFAULT 'aws',
									   OUT trust_policy jsonb,
									   OUT read_only_policy jsonb,
									   OUT purchase_policy jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	principal text := current_setting('commitopt.aws_principal_arn');
BEGIN
	IF principal = '' THEN
		RAISE EXCEPTION 'commitopt.aws_principal_arn is not set'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'An administrator must set the platform''s AWS principal.';
	END IF;
	trust_policy := jsonb_build_object('Version', '2012-10-17', 'Statement', jsonb_build_array(
		jsonb_build_object('Effect', 'Allow',
						   'Principal', jsonb_build_object('AWS', principal),
						   'Action', 'sts:AssumeRole',
						   'Condition', jsonb_build_object('StringEquals',
								jsonb_build_object('sts:ExternalId', external_id)))));
	read_only_policy := jsonb_build_object('Version', '2012-10-17', 'Statement', jsonb_build_array(
		jsonb_build_object('Sid', 'CommitoptReadCommitmentMetadata', 'Effect', 'Allow',
						   'Action', to_jsonb(commitopt.aws_read_actions()),
						   'Resource', '*')));
	purchase_policy := jsonb_build_object('Version', '2012-10-17', 'Statement', jsonb_build_array(
		jsonb_build_object('Sid', 'CommitoptPurchaseCommitments', 'Effect', 'Allow',
						   'Action', to_jsonb(commitopt.aws_purchase_actions()),
						   'Resource', '*')));
END
$$;

-- aws_register(tenant, account, role_arn, name, region): validates,
-- stores the connection sealed, queues its verification and returns the
-- external ID and the policies.  For operators; tenants use
-- register_aws_account(acting_user, ...).
CREATE FUNCTION commitopt.aws_register(tenant uuid, account text, role_arn text,
									   account_name text DEFAULT NULL,
									   region text DEFAULT 'us-east-1',
									   OUT external_id text,
									   OUT trust_policy jsonb,
									   OUT read_only_policy jsonb,
									   OUT purchase_policy jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM commitopt.aws_validate_role_arn(account, role_arn);
	IF region IS NULL OR region !~ '^[a-z]{2}(-gov)?-[a-z]+-[0-9]$' THEN
		RAISE EXCEPTION 'invalid AWS region "%"', region
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM commitopt.aws_connections c
				WHERE c.tenant_id = tenant AND c.account_id = account) THEN
		RAISE EXCEPTION 'AWS account % is already registered', account
			USING ERRCODE = 'unique_violation';
	END IF;
	external_id := commitopt.aws_random_external_id();
	INSERT INTO commitopt.aws_accounts (tenant_id, account_id, name)
	VALUES (tenant, account, account_name)
	ON CONFLICT (tenant_id, account_id) DO NOTHING;
	INSERT INTO commitopt.aws_connections (tenant_id, account_id, role_arn_sealed,
		external_id_sealed, external_id_hash, region)
	VALUES (tenant, account,
			commitopt.secret_encrypt(tenant, 'aws_connections', 'role_arn', account, role_arn),
			commitopt.secret_encrypt(tenant, 'aws_connections', 'external_id', account, external_id),
			sha256(convert_to(external_id, 'UTF8')), region);
	PERFORM commitopt.enqueue_job(tenant, 'verify_account', account);
	SELECT p.trust_policy, p.read_only_policy, p.purchase_policy
	  INTO trust_policy, read_only_policy, purchase_policy
	  FROM commitopt.aws_policies(external_id, split_part(role_arn, ':', 2)) p;
END
$$;
REVOKE ALL ON FUNCTION commitopt.aws_register FROM PUBLIC;

-- register_aws_account(acting_user, ...): the same for a tenant admin.
CREATE FUNCTION commitopt.register_aws_account(acting_user uuid, account text,
											   role_arn text,
											   account_name text DEFAULT NULL,
											   region text DEFAULT 'us-east-1',
											   OUT external_id text,
											   OUT trust_policy jsonb,
											   OUT read_only_policy jsonb,
											   OUT purchase_policy jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	actor commitopt.users;
BEGIN
	actor := commitopt.user_acting(acting_user, true);
	SELECT * INTO external_id, trust_policy, read_only_policy, purchase_policy
	  FROM commitopt.aws_register(actor.tenant_id, account, role_arn,
								  account_name, region);
END
$$;
-- It trusts its acting_user argument (like the user-management functions)
-- until the API calls it under a session claim: not for PUBLIC.
REVOKE ALL ON FUNCTION commitopt.register_aws_account FROM PUBLIC;

-- aws_connection_status: what a tenant may see of its connections (no
-- secrets).
CREATE VIEW commitopt.aws_connection_status AS
SELECT tenant_id, account_id, region, status, last_error, verified_at,
	   last_sync_at, created_at
  FROM commitopt.aws_connections;

-- aws_platform(product description): EC2's operating system names mapped
-- to our platform codes; NULL when unknown.
CREATE FUNCTION commitopt.aws_platform(description text)
RETURNS text LANGUAGE sql IMMUTABLE
RETURN CASE regexp_replace(coalesce(description, 'Linux/UNIX'), ' \(Amazon VPC\)$', '')
	WHEN 'Linux/UNIX' THEN 'linux'
	WHEN 'Red Hat Enterprise Linux' THEN 'rhel'
	WHEN 'SUSE Linux' THEN 'suse'
	WHEN 'Ubuntu Pro' THEN 'ubuntu_pro'
	WHEN 'Windows' THEN 'windows'
	WHEN 'windows' THEN 'windows'
	WHEN 'Windows with SQL Server Web' THEN 'windows_sql_web'
	WHEN 'Windows with SQL Server Standard' THEN 'windows_sql_std'
	WHEN 'Windows with SQL Server Enterprise' THEN 'windows_sql_ent'
	WHEN 'Linux with SQL Server Web' THEN 'linux_sql_web'
	WHEN 'Linux with SQL Server Standard' THEN 'linux_sql_std'
	WHEN 'Linux with SQL Server Enterprise' THEN 'linux_sql_ent'
END;

-- aws_verify_account(tenant, account): AssumeRole once; the connection is
-- active only when it succeeds.  A refusal is re-raised with a message
-- that names the likely cause (the job runner records it on the
-- connection).  Network: called by the job runner only.
CREATE FUNCTION commitopt.aws_verify_account(tenant uuid, account text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	c commitopt.aws_connections;
	msg text;
BEGIN
	SELECT * INTO c FROM commitopt.aws_connections
	 WHERE tenant_id = tenant AND account_id = account;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'AWS account % is not registered', account
			USING ERRCODE = 'no_data_found';
	END IF;
	BEGIN
		PERFORM commitopt.aws_verify_role(tenant, account, c.role_arn_sealed,
										  c.external_id_sealed, c.region);
	EXCEPTION WHEN OTHERS THEN
		msg := sqlerrm;
		IF msg LIKE '%AccessDenied%' THEN
			msg := 'AssumeRole was refused (AccessDenied): the role''s trust policy must name our principal and the external ID given at registration';
		END IF;
		RAISE EXCEPTION '%', msg USING ERRCODE = 'insufficient_privilege';
	END;
	UPDATE commitopt.aws_connections
	   SET status = 'active', last_error = NULL, verified_at = now()
	 WHERE tenant_id = tenant AND account_id = account;
END
$$;
REVOKE ALL ON FUNCTION commitopt.aws_verify_account FROM PUBLIC;

-- aws_apply_inventory(tenant, account, region, inv): replaces the
-- account's synced instances, RIs and Savings Plans by inv (from
-- aws_fetch_inventory) and records what changed.  Commitments keep AWS's
-- exact start and end times (pro rata in the simulator).  Runs in the
-- caller's transaction: all or nothing.
CREATE FUNCTION commitopt.aws_apply_inventory(tenant uuid, account text,
											  sync_region text, inv jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	sid bigint;
	bad text;
BEGIN
	CREATE TEMP TABLE IF NOT EXISTS aws_new_items (kind text, item_id text, row jsonb)
		ON COMMIT DROP;
	DELETE FROM aws_new_items;

	INSERT INTO aws_new_items
	SELECT 'instance', i->>'instance_id', jsonb_build_object(
		'instance_type', i->>'instance_type',
		'availability_zone', i->>'availability_zone',
		'region', regexp_replace(i->>'availability_zone', '[a-z]$', ''),
		'platform', commitopt.aws_platform(coalesce(i->>'platform_details', i->>'platform')),
		'platform_description', coalesce(i->>'platform_details', i->>'platform'),
		'tenancy', coalesce(i->>'tenancy', 'default'),
		'state', i->>'state',
		'launch_time', i->>'launch_time')
	  FROM jsonb_array_elements(inv->'instances') i;

	INSERT INTO aws_new_items
	SELECT 'reserved_instance', r->>'ri_id', jsonb_build_object(
		'instance_type', r->>'instance_type',
		'availability_zone', CASE WHEN r->>'scope' = 'Region' THEN NULL
								  ELSE nullif(r->>'availability_zone', '') END,
		'region', coalesce(regexp_replace(nullif(r->>'availability_zone', ''), '[a-z]$', ''),
						   sync_region),
		'platform', commitopt.aws_platform(r->>'product_description'),
		'platform_description', r->>'product_description',
		'tenancy', coalesce(r->>'tenancy', 'default'),
		'instance_count', (r->>'instance_count')::int,
		'offering_class', lower(coalesce(r->>'offering_class', 'standard')),
		'payment_option', CASE r->>'offering_type'
			WHEN 'No Upfront' THEN 'no_upfront'
			WHEN 'Partial Upfront' THEN 'partial_upfront'
			WHEN 'All Upfront' THEN 'all_upfront' END,
		'start_time', (r->>'start')::timestamptz,
		'end_time', coalesce((r->>'end')::timestamptz,
							 (r->>'start')::timestamptz + (r->>'duration')::bigint * interval '1 second'),
		'effective_hourly_usd',
			coalesce((r->>'fixed_price')::numeric, 0) / ((r->>'duration')::numeric / 3600)
			+ coalesce((r->>'usage_price')::numeric, 0)
			+ coalesce((r->>'recurring_hourly')::numeric, 0))
	  FROM jsonb_array_elements(inv->'reserved_instances') r
	 WHERE r->>'state' IN ('active', 'retired');

	INSERT INTO aws_new_items
	SELECT 'savings_plan', p->>'savingsPlanId', jsonb_build_object(
		'plan_type', CASE p->>'savingsPlanType' WHEN 'Compute' THEN 'compute'
						  WHEN 'EC2Instance' THEN 'ec2_instance' END,
		'region', CASE WHEN p->>'savingsPlanType' = 'EC2Instance' THEN p->>'region' END,
		'instance_family', CASE WHEN p->>'savingsPlanType' = 'EC2Instance'
								THEN p->>'ec2InstanceFamily' END,
		'term_years', round((p->>'termDurationInSeconds')::numeric / 31536000)::int,
		'payment_option', CASE p->>'paymentOption'
			WHEN 'No Upfront' THEN 'no_upfront'
			WHEN 'Partial Upfront' THEN 'partial_upfront'
			WHEN 'All Upfront' THEN 'all_upfront' END,
		'hourly_commitment_usd', (p->>'commitment')::numeric,
		'start_time', (p->>'start')::timestamptz,
		'end_time', (p->>'end')::timestamptz)
	  FROM jsonb_array_elements(inv->'savings_plan_pages') page,
		   jsonb_array_elements(page) p
	 WHERE p->>'state' IN ('active', 'retired')
	   AND p->>'savingsPlanType' IN ('Compute', 'EC2Instance');

	SELECT format('%s %s has an unknown platform "%s"', kind, item_id,
				  row->>'platform_description')
	  INTO bad FROM aws_new_items WHERE row->>'platform' IS NULL
	   AND kind <> 'savings_plan' LIMIT 1;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'cannot sync AWS account %: %', account, bad
			USING ERRCODE = 'invalid_parameter_value';
	END IF;

	INSERT INTO commitopt.aws_sync_runs (tenant_id, account_id, calls, assumes,
		retries, instances, reserved_instances, savings_plans)
	SELECT tenant, account, (inv->>'calls')::int, (inv->>'assumes')::int,
		   (inv->>'retries')::int,
		   count(*) FILTER (WHERE kind = 'instance'),
		   count(*) FILTER (WHERE kind = 'reserved_instance'),
		   count(*) FILTER (WHERE kind = 'savings_plan')
	  FROM aws_new_items
	RETURNING sync_id INTO sid;

	-- History: compare with the previous snapshot of this account.
	WITH old AS (
		SELECT 'instance' AS kind, instance_id AS item_id,
			   jsonb_build_object('instance_type', instance_type,
				   'availability_zone', availability_zone, 'platform', platform,
				   'tenancy', tenancy, 'state', state) AS row
		  FROM commitopt.aws_instances WHERE tenant_id = tenant AND account_id = account
		UNION ALL
		SELECT 'reserved_instance', ri_id,
			   jsonb_build_object('instance_type', instance_type, 'instance_count', instance_count,
				   'start_time', start_time, 'end_time', end_time,
				   'effective_hourly_usd', effective_hourly_usd)
		  FROM commitopt.reserved_instances
		 WHERE tenant_id = tenant AND owner_account_id = account AND source = 'sync'
		UNION ALL
		SELECT 'savings_plan', sp_id,
			   jsonb_build_object('plan_type', plan_type,
				   'hourly_commitment_usd', hourly_commitment_usd,
				   'start_time', start_time, 'end_time', end_time)
		  FROM commitopt.savings_plans
		 WHERE tenant_id = tenant AND owner_account_id = account AND source = 'sync'
	), new AS (
		SELECT kind, item_id, CASE kind
			WHEN 'instance' THEN jsonb_build_object('instance_type', row->'instance_type',
				'availability_zone', row->'availability_zone', 'platform', row->'platform',
				'tenancy', row->'tenancy', 'state', row->'state')
			WHEN 'reserved_instance' THEN jsonb_build_object('instance_type', row->'instance_type',
				'instance_count', row->'instance_count', 'start_time', row->'start_time',
				'end_time', row->'end_time', 'effective_hourly_usd', row->'effective_hourly_usd')
			ELSE jsonb_build_object('plan_type', row->'plan_type',
				'hourly_commitment_usd', row->'hourly_commitment_usd',
				'start_time', row->'start_time', 'end_time', row->'end_time') END AS row
		  FROM aws_new_items
	)
	INSERT INTO commitopt.aws_inventory_history (tenant_id, sync_id, kind, item_id,
		change, before, after)
	SELECT tenant, sid, coalesce(n.kind, o.kind), coalesce(n.item_id, o.item_id),
		   CASE WHEN o.item_id IS NULL THEN 'added'
				WHEN n.item_id IS NULL THEN 'removed' ELSE 'changed' END,
		   o.row, n.row
	  FROM old o FULL JOIN new n USING (kind, item_id)
	 WHERE o.row IS DISTINCT FROM n.row
	   -- timestamps and numbers round-trip through jsonb text: compare as such
	   AND (o.row IS NULL OR n.row IS NULL OR
			(SELECT bool_or(o.row->>k IS DISTINCT FROM n.row->>k
							AND NOT (k IN ('start_time', 'end_time')
									 AND (o.row->>k)::timestamptz = (n.row->>k)::timestamptz)
							AND NOT (k IN ('effective_hourly_usd', 'hourly_commitment_usd')
									 AND (o.row->>k)::numeric = (n.row->>k)::numeric))
			   FROM jsonb_object_keys(n.row) k));

	-- Replace the snapshot.
	DELETE FROM commitopt.aws_instances WHERE tenant_id = tenant AND account_id = account;
	INSERT INTO commitopt.aws_instances
	SELECT tenant, account, item_id, row->>'instance_type', row->>'region',
		   row->>'availability_zone', row->>'platform', row->>'tenancy',
		   row->>'state', (row->>'launch_time')::timestamptz
	  FROM aws_new_items WHERE kind = 'instance';

	DELETE FROM commitopt.reserved_instances
	 WHERE tenant_id = tenant AND owner_account_id = account AND source = 'sync';
	INSERT INTO commitopt.reserved_instances (tenant_id, ri_id, owner_account_id,
		region, availability_zone, instance_type, platform, tenancy,
		instance_count, offering_class, payment_option, start_time, end_time,
		effective_hourly_usd, source)
	SELECT tenant, item_id, account, row->>'region', row->>'availability_zone',
		   row->>'instance_type', row->>'platform', row->>'tenancy',
		   (row->>'instance_count')::int, row->>'offering_class',
		   row->>'payment_option', (row->>'start_time')::timestamptz,
		   (row->>'end_time')::timestamptz,
		   (row->>'effective_hourly_usd')::numeric, 'sync'
	  FROM aws_new_items WHERE kind = 'reserved_instance';

	DELETE FROM commitopt.savings_plans
	 WHERE tenant_id = tenant AND owner_account_id = account AND source = 'sync';
	INSERT INTO commitopt.savings_plans (tenant_id, sp_id, owner_account_id,
		plan_type, region, instance_family, term_years, payment_option,
		hourly_commitment_usd, start_time, end_time, source)
	SELECT tenant, item_id, account, row->>'plan_type', row->>'region',
		   row->>'instance_family', (row->>'term_years')::int,
		   coalesce(row->>'payment_option', 'no_upfront'),
		   (row->>'hourly_commitment_usd')::numeric,
		   (row->>'start_time')::timestamptz, (row->>'end_time')::timestamptz, 'sync'
	  FROM aws_new_items WHERE kind = 'savings_plan';

	UPDATE commitopt.aws_connections SET last_sync_at = now()
	 WHERE tenant_id = tenant AND account_id = account;
	RETURN sid;
END
$$;
REVOKE ALL ON FUNCTION commitopt.aws_apply_inventory FROM PUBLIC;

-- aws_sync_account(tenant, account): fetch and apply in one transaction.
-- Network: called by the job runner only.
CREATE FUNCTION commitopt.aws_sync_account(tenant uuid, account text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	c commitopt.aws_connections;
BEGIN
	SELECT * INTO c FROM commitopt.aws_connections
	 WHERE tenant_id = tenant AND account_id = account;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'AWS account % is not registered', account
			USING ERRCODE = 'no_data_found';
	END IF;
	IF c.status <> 'active' THEN
		RAISE EXCEPTION 'AWS account % is not verified (status %)', account, c.status
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'The account becomes active after a successful verification.';
	END IF;
	RETURN commitopt.aws_apply_inventory(tenant, account, c.region,
		commitopt.aws_fetch_inventory(tenant, account, c.role_arn_sealed,
									  c.external_id_sealed, c.region));
END
$$;
REVOKE ALL ON FUNCTION commitopt.aws_sync_account FROM PUBLIC;
