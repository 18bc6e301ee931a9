-- commitopt install script, part 0: reference data shared by all tenants.
--
-- The install script is the concatenation of extension/sql/*.sql in name
-- order (see the Makefile).  Prices and instance facts are reference data:
-- every tenant reads the same rows, no tenant writes them.

\echo Use "CREATE EXTENSION commitopt" to load this file. \quit

-- Operating systems and licences as AWS prices them.  'size_flexible' is
-- whether a regional RI for this platform may cover other sizes of its
-- family; AWS allows that for Linux/UNIX only.
CREATE TABLE commitopt.platforms (
	platform text PRIMARY KEY,
	description text NOT NULL,
	size_flexible boolean NOT NULL,
	pricing_os_key text UNIQUE
);
COMMENT ON TABLE commitopt.platforms IS
	'Platforms (operating system and licence) as AWS prices them';

INSERT INTO commitopt.platforms VALUES
	('linux', 'Linux/UNIX', true, 'linux'),
	('rhel', 'Red Hat Enterprise Linux', false, 'rhel'),
	('suse', 'SUSE Linux', false, 'sles'),
	('ubuntu_pro', 'Ubuntu Pro', false, 'ubuntu'),
	('windows', 'Windows', false, 'mswin'),
	('windows_sql_web', 'Windows with SQL Server Web', false, 'mswinSQLWeb'),
	('windows_sql_std', 'Windows with SQL Server Standard', false, 'mswinSQL'),
	('windows_sql_ent', 'Windows with SQL Server Enterprise', false, 'mswinSQLEnterprise'),
	('linux_sql_web', 'Linux with SQL Server Web', false, 'linuxSQLWeb'),
	('linux_sql_std', 'Linux with SQL Server Standard', false, 'linuxSQL'),
	('linux_sql_ent', 'Linux with SQL Server Enterprise', false, 'linuxSQLEnterprise');

CREATE TABLE commitopt.tenancies (
	tenancy text PRIMARY KEY,
	description text NOT NULL
);
INSERT INTO commitopt.tenancies VALUES
	('default', 'Shared hardware'),
	('dedicated', 'Dedicated instance'),
	('host', 'Dedicated host');

-- Sane bounds.  Every money, rate, count and amount column of the
-- reference and tenant tables refuses values no AWS bill can have, so that
-- nothing absurd reaches the simulator's double-precision arithmetic:
--   rates and costs per instance-hour: 0, or 1e-9 to 10,000 USD;
--   a Savings Plan's hourly commitment: 0.001 USD (AWS's minimum) to
--   10,000,000 USD;
--   a Reserved Instance's instance count: 1 to 1,000,000;
--   normalization factors: above 0, at most 10,000;
--   instance-hours of a usage series in one hour: 0 to 1e9;
--   amounts and costs of billed lines: below 1e15 in absolute value.
-- numeric and float8 NaN compare greater than every number, so an upper
-- bound also refuses NaN (a lone "> 0" does not).

-- Normalization factors by size (instance size flexibility).
CREATE TABLE commitopt.instance_sizes (
	size text PRIMARY KEY,
	normalization_factor float8 NOT NULL
		CHECK (normalization_factor > 0 AND normalization_factor <= 10000)
);

-- Families; AWS excludes some from size flexibility even on Linux.
CREATE TABLE commitopt.instance_families (
	family text PRIMARY KEY,
	size_flexible boolean NOT NULL DEFAULT true
);

-- Instance types.  normalization_factor is set for bare-metal types from
-- AWS's table; for the others it follows from the size.
CREATE TABLE commitopt.instance_types (
	instance_type text PRIMARY KEY
		CHECK (instance_type ~ '^[a-z0-9-]+\.[a-z0-9-]+$'),
	family text NOT NULL,
	size text NOT NULL,
	normalization_factor float8
		CHECK (normalization_factor > 0 AND normalization_factor <= 10000),
	vcpu int,
	memory_gib float8
);

-- On-demand rates per instance-hour.
CREATE TABLE commitopt.od_rates (
	region text NOT NULL,
	instance_type text NOT NULL,
	platform text NOT NULL REFERENCES commitopt.platforms,
	tenancy text NOT NULL REFERENCES commitopt.tenancies,
hourly_usd numeric NOT NULL
		CHECK (hourly_usd >= 0 AND hourly_usd <= 10000 AND (hourly_usd = 0 OR hourly_usd >= 1e-9)),
	source text NOT NULL,
	PRIMARY KEY (region, instance_type, platform, tenancy)
);

-- Reserved Instance rates: the effective hourly cost per instance
-- (upfront spread over the term plus the recurring fee).
CREATE TABLE commitopt.ri_rates (
	region text NOT NULL,
	instance_type text NOT NULL,
	platform text NOT NULL REFERENCES commitopt.platforms,
	tenancy text NOT NULL REFERENCES commitopt.tenancies,
	offering_class text NOT NULL
		CHECK (offering_class IN ('standard', 'convertible')),
	term_years int NOT NULL CHECK (term_years IN (1, 3)),
	payment_option text NOT NULL
		CHECK (payment_option IN ('no_upfront', 'partial_upfront', 'all_upfront')),
effective_hourly_usd numeric NOT NULL
		CHECK (effective_hourly_usd >= 0 AND effective_hourly_usd <= 10000 AND (effective_hourly_usd = 0 OR effective_hourly_usd >= 1e-9)),
	source text NOT NULL,
	PRIMARY KEY (region, instance_type, platform, tenancy,
				 offering_class, term_years, payment_option)
);

-- Savings Plan rates per instance-hour.  is_estimate marks rates derived
-- by commitopt.derive_sp_rates() rather than read from AWS's rate files.
CREATE TABLE commitopt.sp_rates (
	plan_type text NOT NULL CHECK (plan_type IN ('compute', 'ec2_instance')),
	term_years int NOT NULL CHECK (term_years IN (1, 3)),
	payment_option text NOT NULL
		CHECK (payment_option IN ('no_upfront', 'partial_upfront', 'all_upfront')),
	region text NOT NULL,
	instance_type text NOT NULL,
	platform text NOT NULL REFERENCES commitopt.platforms,
	tenancy text NOT NULL REFERENCES commitopt.tenancies,
hourly_usd numeric NOT NULL
		CHECK (hourly_usd >= 0 AND hourly_usd <= 10000 AND (hourly_usd = 0 OR hourly_usd >= 1e-9)),
	is_estimate boolean NOT NULL,
	source text NOT NULL,
	PRIMARY KEY (plan_type, term_years, payment_option, region,
				 instance_type, platform, tenancy)
);

-- instance_family(type) and instance_size(type): the parts of an instance
-- type around its first dot ('m5' and 'xlarge' for 'm5.xlarge').
CREATE FUNCTION commitopt.instance_family(instance_type text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN split_part(instance_type, '.', 1);

CREATE FUNCTION commitopt.instance_size(instance_type text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN substr(instance_type, strpos(instance_type, '.') + 1);

-- normalization_factor(type): the type's own factor where AWS publishes
-- one (bare metal), else the factor of its size; NULL when neither is known.
CREATE FUNCTION commitopt.normalization_factor(instance_type text)
RETURNS float8 LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN coalesce(
	(SELECT t.normalization_factor FROM commitopt.instance_types t
	  WHERE t.instance_type = normalization_factor.instance_type),
	(SELECT s.normalization_factor FROM commitopt.instance_sizes s
	  WHERE s.size = commitopt.instance_size(normalization_factor.instance_type)));
