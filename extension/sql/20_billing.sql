-- commitopt install script, part 2: billing exports and the commitment
-- inventory.
--
-- An import reads a FOCUS 1.x, legacy CUR or CUR 2.0 file, keeps every
-- line (normalized to one vocabulary) as billed facts, derives usage series
-- from the instance-hour lines and the commitment inventory from the RI and
-- Savings Plan lines.  A billing period of one export is replaced as a whole
-- when it is imported again.

-- One (export, billing period) as last imported.
CREATE TABLE commitopt.billing_imports (
	tenant_id uuid NOT NULL REFERENCES commitopt.tenants ON DELETE CASCADE,
	import_id bigint GENERATED ALWAYS AS IDENTITY,
	export_name text NOT NULL,
	billing_period_start timestamptz NOT NULL,
	format text NOT NULL CHECK (format IN ('focus', 'cur', 'cur2')),
	source text NOT NULL,
	line_count int NOT NULL,
	imported_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, import_id),
	UNIQUE (tenant_id, export_name, billing_period_start)
);

-- Billed facts, one per line of the export.  charge_type uses the CUR's
-- line item types (Usage, DiscountedUsage, RIFee, Fee,
-- SavingsPlanCoveredUsage, SavingsPlanNegation, SavingsPlanRecurringFee,
-- SavingsPlanUpfrontFee, Credit, Refund, Tax, ...); FOCUS charge
-- categories are mapped onto them.  Costs are in the billing currency.
CREATE TABLE commitopt.billing_line_items (
	tenant_id uuid NOT NULL,
	import_id bigint NOT NULL,
	line_no int NOT NULL,
	charge_type text NOT NULL,
	billing_period_start timestamptz NOT NULL,
	usage_start timestamptz,
	usage_end timestamptz,
	account_id text,
	service text,
	region text,
	availability_zone text,
	instance_type text,
	platform text,
	tenancy text,
	usage_type text,
	-- bounds of 00_reference.sql (abs(NaN) is NaN, above any bound)
	usage_amount numeric CHECK (abs(usage_amount) < 1e15),
	unit text,
	normalization_factor numeric CHECK (abs(normalization_factor) < 1e15),
	unblended_cost numeric NOT NULL DEFAULT 0 CHECK (abs(unblended_cost) < 1e15),
	amortized_cost numeric CHECK (abs(amortized_cost) < 1e15),
	public_od_cost numeric CHECK (abs(public_od_cost) < 1e15),
	od_rate numeric CHECK (abs(od_rate) < 1e15),
	commitment_type text CHECK (commitment_type IN ('ri', 'sp')),
	commitment_id text,
	description text,
	tags jsonb NOT NULL DEFAULT '{}',
	PRIMARY KEY (tenant_id, import_id, line_no),
	FOREIGN KEY (tenant_id, import_id)
		REFERENCES commitopt.billing_imports ON DELETE CASCADE
);

-- upload_session(): names this database session (backend process id and
-- start time, so a later session reusing the pid differs).  Upload lines
-- belong to the session that streamed them.  PARALLEL RESTRICTED: a
-- parallel worker is another process.
CREATE FUNCTION commitopt.upload_session()
RETURNS text LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_upload_session';

-- upload_session_is_live(upload_session): whether the database session
-- that value names is still connected.  For the session reaper.
CREATE FUNCTION commitopt.upload_session_is_live(upload_session text)
RETURNS boolean LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_upload_session_is_live';
REVOKE EXECUTE ON FUNCTION commitopt.upload_session_is_live(text) FROM PUBLIC;

-- Lines of an export streamed by a client, one row per physical line,
-- consumed by commitopt.import_billing_upload() of the same session (two
-- sessions of one tenant never mix their lines; a failed import keeps
-- them until commitopt.discard_billing_upload()).  With psql and GNU sed:
--   \copy commitopt.billing_upload (line) FROM PROGRAM
--       'sed -e "s/\x1e/\x1e\x1e/g; s/^/\x1e/; s/$/\x1e/" export.csv'
--       WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x1e')
-- sed wraps each line in a quote character that exports never use: COPY
-- would otherwise drop the CR of CRLF line ends (also inside multi-line
-- fields) and stop at a line reading \. (test sql/import_upload.sql).  The
-- tenant is the session's (commitopt.current_tenant()).
-- Lines of a session that ended without importing or discarding them are
-- removed by the session reaper (commitopt.sessions_reap()).
CREATE TABLE commitopt.billing_upload (
	tenant_id uuid NOT NULL DEFAULT commitopt.current_tenant()
		REFERENCES commitopt.tenants ON DELETE CASCADE,
	upload_session text NOT NULL DEFAULT commitopt.upload_session(),
	line_no bigint GENERATED ALWAYS AS IDENTITY,
	line text,
	PRIMARY KEY (tenant_id, upload_session, line_no)
);

-- Reserved Instances.  availability_zone is NULL for a regional RI.
-- effective_hourly_usd is per instance: upfront / hours of the term plus
-- the recurring hourly fee.
CREATE TABLE commitopt.reserved_instances (
	tenant_id uuid NOT NULL,
	ri_id text NOT NULL,
	owner_account_id text NOT NULL,
	region text NOT NULL,
	availability_zone text,
	instance_type text NOT NULL,
	platform text NOT NULL REFERENCES commitopt.platforms,
	tenancy text NOT NULL REFERENCES commitopt.tenancies,
	instance_count int NOT NULL CHECK (instance_count BETWEEN 1 AND 1000000),
	offering_class text NOT NULL DEFAULT 'standard'
		CHECK (offering_class IN ('standard', 'convertible')),
	payment_option text
		CHECK (payment_option IN ('no_upfront', 'partial_upfront', 'all_upfront')),
	start_time timestamptz NOT NULL,
	end_time timestamptz NOT NULL CHECK (end_time > start_time),
	-- bounds of 00_reference.sql
	effective_hourly_usd numeric NOT NULL
		CHECK (effective_hourly_usd >= 0 AND effective_hourly_usd <= 10000
			   AND (effective_hourly_usd = 0 OR effective_hourly_usd >= 1e-9)),
	source text NOT NULL DEFAULT 'manual',
	PRIMARY KEY (tenant_id, ri_id),
	FOREIGN KEY (tenant_id, owner_account_id) REFERENCES commitopt.aws_accounts
);

-- Savings Plans.  region and instance_family are set for EC2 Instance
-- plans only.  hourly_commitment_usd is the amortized hourly commitment.
-- Each plan applies its own rates from commitopt.sp_rates for its type,
-- term and payment option.
CREATE TABLE commitopt.savings_plans (
	tenant_id uuid NOT NULL,
	sp_id text NOT NULL,
	owner_account_id text NOT NULL,
	plan_type text NOT NULL CHECK (plan_type IN ('compute', 'ec2_instance')),
	region text,
	instance_family text,
	term_years int NOT NULL CHECK (term_years IN (1, 3)),
	payment_option text NOT NULL DEFAULT 'no_upfront'
		CHECK (payment_option IN ('no_upfront', 'partial_upfront', 'all_upfront')),
	hourly_commitment_usd numeric NOT NULL
		CHECK (hourly_commitment_usd >= 0.001 AND hourly_commitment_usd <= 10000000),
	start_time timestamptz NOT NULL,
	end_time timestamptz NOT NULL CHECK (end_time > start_time),
	source text NOT NULL DEFAULT 'manual',
	PRIMARY KEY (tenant_id, sp_id),
	FOREIGN KEY (tenant_id, owner_account_id) REFERENCES commitopt.aws_accounts,
	CHECK ((plan_type = 'ec2_instance') =
		   (region IS NOT NULL AND instance_family IS NOT NULL))
);
