-- commitopt install script, part 3: loading prices and instance facts.
--
-- The loaders read server-side CSV files with COPY (so they need the
-- pg_read_server_files privilege) and match columns by header name:
-- a file whose header differs is refused by COPY with the column named.
-- Loading the same file again replaces its rows.

-- load_instance_sizes(path): size,normalization_factor
CREATE FUNCTION commitopt.load_instance_sizes(path text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	CREATE TEMP TABLE pg_temp.size_file (
		instance_size text, normalization_factor float8) ON COMMIT DROP;
	EXECUTE format('COPY pg_temp.size_file FROM %L WITH (FORMAT csv, HEADER match)', path);
	INSERT INTO commitopt.instance_sizes
	SELECT instance_size, normalization_factor FROM pg_temp.size_file
	ON CONFLICT (size) DO UPDATE SET normalization_factor = excluded.normalization_factor;
	GET DIAGNOSTICS n = ROW_COUNT;
	DROP TABLE pg_temp.size_file;
	RETURN n;
END
$$;

-- load_metal_factors(path): instance_type,normalization_factor for bare
-- metal types, whose factor does not follow from a size name.
CREATE FUNCTION commitopt.load_metal_factors(path text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	CREATE TEMP TABLE pg_temp.metal_file (
		instance_type text, normalization_factor float8) ON COMMIT DROP;
	EXECUTE format('COPY pg_temp.metal_file FROM %L WITH (FORMAT csv, HEADER match)', path);
	-- 'u-*.metal' in AWS's table names a pattern, not a type.
	INSERT INTO commitopt.instance_types (instance_type, family, size, normalization_factor)
	SELECT instance_type, commitopt.instance_family(instance_type), 'metal',
		   normalization_factor
	  FROM pg_temp.metal_file WHERE instance_type !~ '\*'
	ON CONFLICT (instance_type)
	DO UPDATE SET normalization_factor = excluded.normalization_factor;
	GET DIAGNOSTICS n = ROW_COUNT;
	DROP TABLE pg_temp.metal_file;
	RETURN n;
END
$$;

-- load_instance_specs(path): ec2instances.info's per-type facts.
CREATE FUNCTION commitopt.load_instance_specs(path text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	CREATE TEMP TABLE pg_temp.spec_file (
		instance_type text, family text, generation text, vcpu int,
		memory_gib float8, ecu text, network_performance text,
		physical_processor text, clock_speed_ghz text, gpu text,
		storage_devices text, storage_size_gb text, storage_ssd text,
		ebs_optimized text, ebs_max_bandwidth_mbps text, arch text)
		ON COMMIT DROP;
	EXECUTE format('COPY pg_temp.spec_file FROM %L WITH (FORMAT csv, HEADER match)', path);
	INSERT INTO commitopt.instance_types (instance_type, family, size, vcpu, memory_gib)
	SELECT instance_type, commitopt.instance_family(instance_type),
		   commitopt.instance_size(instance_type), vcpu, memory_gib
	  FROM pg_temp.spec_file
	ON CONFLICT (instance_type)
	DO UPDATE SET vcpu = excluded.vcpu, memory_gib = excluded.memory_gib;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO commitopt.instance_families (family)
	SELECT DISTINCT commitopt.instance_family(instance_type) FROM commitopt.instance_types
	ON CONFLICT DO NOTHING;
	DROP TABLE pg_temp.spec_file;
	RETURN n;
END
$$;

-- load_wide_prices(path, source): ec2instances.info's wide price table,
-- one row per (type, region, os) with the on-demand rate and twelve RI
-- effective hourly rates.  OS keys without a commitopt platform (such as
-- the 'dedicated' key of newer files) are skipped and reported.
CREATE FUNCTION commitopt.load_wide_prices(path text, source text)
RETURNS TABLE (od_rates bigint, ri_rates bigint)
LANGUAGE plpgsql AS $$
DECLARE
	skipped text;
BEGIN
	CREATE TEMP TABLE pg_temp.wide_file (
		instance_type text, region text, os text, ondemand_hourly_usd numeric,
		"ri_yrTerm1Standard_noUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm1Standard_partialUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm1Standard_allUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm1Convertible_noUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm1Convertible_partialUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm1Convertible_allUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm3Standard_noUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm3Standard_partialUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm3Standard_allUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm3Convertible_noUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm3Convertible_partialUpfront_effective_hourly_usd" numeric,
		"ri_yrTerm3Convertible_allUpfront_effective_hourly_usd" numeric)
		ON COMMIT DROP;
	EXECUTE format('COPY pg_temp.wide_file FROM %L WITH (FORMAT csv, HEADER match)', path);

	SELECT string_agg(DISTINCT w.os, ', ' ORDER BY w.os) INTO skipped
	  FROM pg_temp.wide_file w
	 WHERE NOT EXISTS (SELECT FROM commitopt.platforms p WHERE p.pricing_os_key = w.os);
	IF skipped IS NOT NULL THEN
		RAISE NOTICE 'skipped prices for operating system keys without a platform: %', skipped;
	END IF;

	INSERT INTO commitopt.od_rates AS r
	SELECT w.region, w.instance_type, p.platform, 'default', w.ondemand_hourly_usd, source
	  FROM pg_temp.wide_file w JOIN commitopt.platforms p ON p.pricing_os_key = w.os
	 WHERE w.ondemand_hourly_usd IS NOT NULL
	ON CONFLICT (region, instance_type, platform, tenancy)
	DO UPDATE SET hourly_usd = excluded.hourly_usd, source = excluded.source;
	GET DIAGNOSTICS od_rates = ROW_COUNT;

	INSERT INTO commitopt.ri_rates AS r
	SELECT w.region, w.instance_type, p.platform, 'default',
		   o.offering_class, o.term_years, o.payment_option, o.rate, source
	  FROM pg_temp.wide_file w
	  JOIN commitopt.platforms p ON p.pricing_os_key = w.os
	 CROSS JOIN LATERAL (VALUES
		('standard', 1, 'no_upfront', w."ri_yrTerm1Standard_noUpfront_effective_hourly_usd"),
		('standard', 1, 'partial_upfront', w."ri_yrTerm1Standard_partialUpfront_effective_hourly_usd"),
		('standard', 1, 'all_upfront', w."ri_yrTerm1Standard_allUpfront_effective_hourly_usd"),
		('convertible', 1, 'no_upfront', w."ri_yrTerm1Convertible_noUpfront_effective_hourly_usd"),
		('convertible', 1, 'partial_upfront', w."ri_yrTerm1Convertible_partialUpfront_effective_hourly_usd"),
		('convertible', 1, 'all_upfront', w."ri_yrTerm1Convertible_allUpfront_effective_hourly_usd"),
		('standard', 3, 'no_upfront', w."ri_yrTerm3Standard_noUpfront_effective_hourly_usd"),
		('standard', 3, 'partial_upfront', w."ri_yrTerm3Standard_partialUpfront_effective_hourly_usd"),
		('standard', 3, 'all_upfront', w."ri_yrTerm3Standard_allUpfront_effective_hourly_usd"),
		('convertible', 3, 'no_upfront', w."ri_yrTerm3Convertible_noUpfront_effective_hourly_usd"),
		('convertible', 3, 'partial_upfront', w."ri_yrTerm3Convertible_partialUpfront_effective_hourly_usd"),
		('convertible', 3, 'all_upfront', w."ri_yrTerm3Convertible_allUpfront_effective_hourly_usd"))
		AS o(offering_class, term_years, payment_option, rate)
	 WHERE o.rate IS NOT NULL
	ON CONFLICT (region, instance_type, platform, tenancy, offering_class,
				 term_years, payment_option)
	DO UPDATE SET effective_hourly_usd = excluded.effective_hourly_usd,
				  source = excluded.source;
	GET DIAGNOSTICS ri_rates = ROW_COUNT;
	DROP TABLE pg_temp.wide_file;
	RETURN NEXT;
END
$$;

-- sp_fallback_discount(plan_type, term_years): the discount assumed for a
-- Savings Plan where no RI rate says better; see the settings
-- commitopt.sp_estimate_discount_*.
CREATE FUNCTION commitopt.sp_fallback_discount(plan_type text, term_years int)
RETURNS float8 LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN current_setting(format('commitopt.sp_estimate_discount_%s_%syr',
							  plan_type, term_years))::float8;

-- derive_sp_rates(): estimates Savings Plan rates where AWS's are absent.
--
-- The rule: an EC2 Instance Savings Plan costs what a Standard RI of the
-- same type, region, platform, term and payment option costs per hour, and
-- a Compute Savings Plan what the Convertible RI costs (AWS prices the two
-- pairs alike).  Where that RI has no published rate, the on-demand rate
-- minus the configured fallback discount is used.  Rates read from a file
-- (is_estimate = false) are never overwritten.  Returns the rows written.
CREATE FUNCTION commitopt.derive_sp_rates()
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	INSERT INTO commitopt.sp_rates AS s
	SELECT k.plan_type, k.term_years, k.payment_option,
		   o.region, o.instance_type, o.platform, o.tenancy,
		   round(coalesce(ri.effective_hourly_usd,
						  o.hourly_usd * (1 - commitopt.sp_fallback_discount(
								k.plan_type, k.term_years))::numeric), 6),
		   true,
		   CASE WHEN ri.effective_hourly_usd IS NULL
				THEN 'estimate: on-demand less fallback discount'
				ELSE 'estimate: ' || k.offering_class || ' RI rate' END
	  FROM commitopt.od_rates o
	 CROSS JOIN (VALUES ('ec2_instance', 'standard'), ('compute', 'convertible'))
		   AS c(plan_type, offering_class)
	 CROSS JOIN LATERAL (SELECT c.plan_type, c.offering_class, t.term_years, p.payment_option
						   FROM (VALUES (1), (3)) t(term_years),
								(VALUES ('no_upfront'), ('partial_upfront'), ('all_upfront'))
								p(payment_option)) k
	  LEFT JOIN commitopt.ri_rates ri
		ON ri.region = o.region AND ri.instance_type = o.instance_type
	   AND ri.platform = o.platform AND ri.tenancy = o.tenancy
	   AND ri.offering_class = k.offering_class AND ri.term_years = k.term_years
	   AND ri.payment_option = k.payment_option
	ON CONFLICT (plan_type, term_years, payment_option, region, instance_type,
				 platform, tenancy)
	DO UPDATE SET hourly_usd = excluded.hourly_usd, source = excluded.source
		  WHERE s.is_estimate;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- load_sp_rates(path): real Savings Plan rates, for a user who has them
-- (for example from AWS's Savings Plans price list).  Columns: plan_type,
-- term_years, payment_option, region, instance_type, platform, tenancy,
-- hourly_usd.  They replace any estimate for the same key.
CREATE FUNCTION commitopt.load_sp_rates(path text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	CREATE TEMP TABLE pg_temp.sp_rate_file (
		plan_type text, term_years int, payment_option text, region text,
		instance_type text, platform text, tenancy text, hourly_usd numeric)
		ON COMMIT DROP;
	EXECUTE format('COPY pg_temp.sp_rate_file FROM %L WITH (FORMAT csv, HEADER match)', path);
	INSERT INTO commitopt.sp_rates
	SELECT plan_type, term_years, payment_option, region, instance_type,
		   platform, tenancy, hourly_usd, false, 'file: ' || path
	  FROM pg_temp.sp_rate_file
	ON CONFLICT (plan_type, term_years, payment_option, region, instance_type,
				 platform, tenancy)
	DO UPDATE SET hourly_usd = excluded.hourly_usd, is_estimate = false,
				  source = excluded.source;
	GET DIAGNOSTICS n = ROW_COUNT;
	DROP TABLE pg_temp.sp_rate_file;
	RETURN n;
END
$$;

-- load_reference_data(dir): everything under the shipped data/pricing
-- folder, then the Savings Plan estimates.  Safe to run again.
CREATE FUNCTION commitopt.load_reference_data(dir text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM commitopt.load_instance_sizes(dir || '/normalization/instance_size_normalization_factors.csv');
	PERFORM commitopt.load_instance_specs(dir || '/ec2instances-info/ec2_instance_specs_2017-11-12.csv');
	PERFORM commitopt.load_metal_factors(dir || '/normalization/metal_instance_normalization_factors.csv');
	PERFORM commitopt.load_wide_prices(dir || '/ec2instances-info/ec2_pricing_2017-11-12_wide.csv',
									   'ec2instances.info 2017-11-12');
	PERFORM commitopt.load_wide_prices(dir || '/ec2instances-info/ec2_pricing_2026_x2iedn.32xlarge_wide.csv',
									   'ec2instances.info 2026');
	-- Families AWS excludes from size flexibility even on Linux.
	INSERT INTO commitopt.instance_families (family, size_flexible)
	VALUES ('g4ad', false), ('g4dn', false), ('g5', false), ('g5g', false)
	ON CONFLICT (family) DO UPDATE SET size_flexible = false;
	PERFORM commitopt.derive_sp_rates();
END
$$;
