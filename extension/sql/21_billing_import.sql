-- commitopt install script, part 2b: importing billing exports.
--
-- The C parser (extension/billing_import.c) reads a FOCUS 1.x, legacy CUR
-- or CUR 2.0 export and returns its lines in one vocabulary
-- (commitopt.import_line).  Everything after that is here: the lines are
-- staged in a temporary table, stored per (export, billing period), and
-- the usage series, coverage spans and commitment inventory are derived
-- from them.  One call is one statement, so an import is all or nothing.

-- Whether usage was billed on demand ('Standard'), under a commitment
-- ('Committed') or as Spot ('Dynamic'), in FOCUS's words; CUR lines are
-- mapped (SpotUsage usage types are 'Dynamic').  Spot usage is outside the
-- simulation, so the usage series must be able to leave it out.
ALTER TABLE commitopt.billing_line_items
	ADD COLUMN pricing_category text
	CHECK (pricing_category IN ('Standard', 'Committed', 'Dynamic'));

-- One normalized line of an export, as the parser returns it: the columns
-- of billing_line_items plus the commitment facts the inventory needs.
CREATE TYPE commitopt.import_line AS (
	line_no int,
	format text,
	billing_period_start timestamptz,
	charge_type text,
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
	usage_amount numeric,
	unit text,
	normalization_factor numeric,
	unblended_cost numeric,
	amortized_cost numeric,
	public_od_cost numeric,
	od_rate numeric,
	commitment_type text,
	commitment_id text,
	description text,
	tags jsonb,
	pricing_category text,
	commitment_count numeric,
	commitment_start timestamptz,
	commitment_end timestamptz,
	ri_upfront_for_period numeric,
	sp_total_commitment numeric,
	term text,
	payment_option text,
	offering_class text,
	sp_offering_type text,
	sp_region text,
	sp_family text
);

-- parse_billing_file(path): the lines of a server-side export file.
-- Needs superuser or pg_read_server_files (checked in C).
CREATE FUNCTION commitopt.parse_billing_file(path text)
RETURNS SETOF commitopt.import_line
AS 'MODULE_PATHNAME', 'commitopt_parse_billing_file'
LANGUAGE C STRICT VOLATILE;

-- parse_billing_upload(tenant): the lines a client streamed into
-- commitopt.billing_upload for the tenant.
CREATE FUNCTION commitopt.parse_billing_upload(tenant uuid)
RETURNS SETOF commitopt.import_line
AS 'MODULE_PATHNAME', 'commitopt_parse_billing_upload'
LANGUAGE C STRICT VOLATILE;

-- The charge types that are instance usage (a SavingsPlanNegation line
-- repeats the hours of its covered line: counting it doubles them, FC-01).
CREATE FUNCTION commitopt.is_usage_charge(charge_type text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN charge_type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage');

-- rebuild_usage_hourly(tenant, period): recomputes usage_hourly of one
-- calendar month from every billing line of that billing period (all
-- exports of the tenant), for EC2 instance-hours of a known configuration,
-- Spot excluded.  A line spanning several hours (daily CUR, date-only
-- FOCUS) spreads its amount evenly over them; hours outside the month are
-- dropped.  od_rate is the usage-weighted average of the known line rates
-- (a line's rate is its unit price, or the parser's list cost / amount
-- where the export gives none).
-- XXX: usage billed in one period but run in another month is dropped
-- rather than moved to that month's row.
-- Returns the number of series written.
CREATE FUNCTION commitopt.rebuild_usage_hourly(tenant uuid, period timestamptz)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	period_end timestamptz := (period AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
	nhours int := extract(epoch FROM period_end - period)::int / 3600;
	n int;
BEGIN
	IF period <> date_trunc('month', period, 'UTC') THEN
		RAISE EXCEPTION 'usage period % is not the start of a UTC month', period
			USING ERRCODE = 'invalid_parameter_value';
	END IF;

	CREATE TEMP TABLE usage_lines ON COMMIT DROP AS
	SELECT l.account_id, l.region, coalesce(l.availability_zone, '') AS availability_zone,
		   l.instance_type, l.platform, l.tenancy, l.usage_amount, l.od_rate,
		   floor(extract(epoch FROM l.usage_start - period) / 3600)::int AS first_hour,
		   greatest(ceil(extract(epoch FROM coalesce(l.usage_end, l.usage_start + interval '1 hour')
								 - period) / 3600)::int
					- floor(extract(epoch FROM l.usage_start - period) / 3600)::int, 1) AS span
	  FROM commitopt.billing_line_items l
	 WHERE l.tenant_id = tenant AND l.billing_period_start = period
	   AND commitopt.is_usage_charge(l.charge_type)
	   AND l.service = 'AmazonEC2' AND l.unit = 'Hrs'
	   AND l.pricing_category IS DISTINCT FROM 'Dynamic'
	   AND l.instance_type IS NOT NULL AND l.platform IS NOT NULL
	   AND l.tenancy IS NOT NULL AND l.region IS NOT NULL
	   AND l.account_id ~ '^[0-9]{1,20}$'
	   AND l.usage_start IS NOT NULL AND l.usage_amount IS NOT NULL;

	INSERT INTO commitopt.aws_accounts (tenant_id, account_id)
	SELECT DISTINCT tenant, account_id FROM usage_lines
	ON CONFLICT DO NOTHING;
	INSERT INTO commitopt.usage_series (tenant_id, account_id, region, availability_zone,
										instance_type, platform, tenancy)
	SELECT DISTINCT tenant, account_id, region, availability_zone, instance_type, platform, tenancy
	  FROM usage_lines
	ON CONFLICT DO NOTHING;

	DELETE FROM commitopt.usage_hourly h WHERE h.tenant_id = tenant AND h.period_start = period;

	WITH lines AS (
		SELECT s.series_id, u.*
		  FROM usage_lines u
		  JOIN commitopt.usage_series s
			ON s.tenant_id = tenant AND s.account_id = u.account_id
		   AND s.region = u.region AND s.availability_zone = u.availability_zone
		   AND s.instance_type = u.instance_type AND s.platform = u.platform
		   AND s.tenancy = u.tenancy
	), per_hour AS (
		SELECT series_id, h, sum(usage_amount / span)::float8 AS amount
		  FROM lines, generate_series(first_hour, first_hour + span - 1) AS h
		 WHERE h >= 0 AND h < nhours
		 GROUP BY series_id, h
	), averages AS (
		SELECT series_id,
			   sum(usage_amount * od_rate) FILTER (WHERE od_rate IS NOT NULL)
			   / nullif(sum(usage_amount) FILTER (WHERE od_rate IS NOT NULL), 0) AS od_rate
		  FROM lines GROUP BY series_id
	), rates AS (
		-- each line's rate is 0 or at least 1e-9 (the importer checks), but
		-- an average of 0 and 1e-9 is not: such a sliver goes to the
		-- nearest rate the table keeps
		SELECT series_id,
			   CASE WHEN od_rate > 0 AND od_rate < 1e-9 THEN round(od_rate, 9)
					ELSE od_rate END AS od_rate
		  FROM averages
	)
	INSERT INTO commitopt.usage_hourly (tenant_id, series_id, period_start, amounts, od_rate)
	SELECT tenant, r.series_id, period,
		   (SELECT array_agg(coalesce(p.amount, 0) ORDER BY i)
			  FROM generate_series(0, nhours - 1) AS i
			  LEFT JOIN per_hour p ON p.series_id = r.series_id AND p.h = i),
		   r.od_rate
	  FROM rates r;
	GET DIAGNOSTICS n = ROW_COUNT;
	DROP TABLE usage_lines;
	RETURN n;
END
$$;

-- report_usage_lines(): NOTICEs on the staged EC2 instance-hour lines
-- that rebuild_usage_hourly() treats specially, naming the lines:
--   * lines it leaves out of the usage series because their platform,
--     tenancy or region is unknown (the parser already refused those
--     without account, instance type or amount);
--   * lines reaching beyond their billing period's month.  Our rule: the
--     amount is spread evenly over the line's hours and the hours outside
--     the billing period's month are dropped (they are another period's
--     usage, which that period's lines should carry).
-- At most 10 lines are named per kind, then their number.
CREATE FUNCTION commitopt.report_usage_lines()
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
	shown int := 0;
	total int := 0;
BEGIN
	FOR r IN
		SELECT s.line_no,
			   array_to_string(ARRAY[
				   CASE WHEN s.platform IS NULL THEN 'platform' END,
				   CASE WHEN s.tenancy IS NULL THEN 'tenancy' END,
				   CASE WHEN s.region IS NULL THEN 'region' END,
				   CASE WHEN s.usage_start IS NULL THEN 'start time' END], ', ') AS missing
		  FROM pg_temp.import_staging s
		 WHERE commitopt.is_usage_charge(s.charge_type)
		   AND s.service = 'AmazonEC2' AND s.unit = 'Hrs'
		   AND s.pricing_category IS DISTINCT FROM 'Dynamic'
		   AND s.instance_type IS NOT NULL
		   AND (s.platform IS NULL OR s.tenancy IS NULL OR s.region IS NULL
				OR s.usage_start IS NULL)
		 ORDER BY s.line_no
	LOOP
		total := total + 1;
		IF shown < 10 THEN
			RAISE NOTICE 'EC2 usage at line % left out of the usage series: unknown %',
				r.line_no, r.missing;
			shown := shown + 1;
		END IF;
	END LOOP;
	IF total > shown THEN
		RAISE NOTICE '% more EC2 usage lines left out of the usage series', total - shown;
	END IF;

	shown := 0;
	total := 0;
	FOR r IN
		SELECT s.line_no, s.usage_start, s.usage_end, s.period
		  FROM pg_temp.import_staging s
		 WHERE commitopt.is_usage_charge(s.charge_type)
		   AND s.service = 'AmazonEC2' AND s.unit = 'Hrs'
		   AND s.usage_start IS NOT NULL
		   AND (s.usage_start < s.period
				OR coalesce(s.usage_end, s.usage_start + interval '1 hour')
				   > (s.period AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC')
		 ORDER BY s.line_no
	LOOP
		total := total + 1;
		IF shown < 10 THEN
			RAISE NOTICE 'usage line % runs from % to %, beyond the billing period starting %',
				r.line_no, r.usage_start, r.usage_end, r.period
				USING DETAIL = 'Its amount is spread evenly over its hours; the hours outside the billing period are left out of the usage series.';
			shown := shown + 1;
		END IF;
	END LOOP;
	IF total > shown THEN
		RAISE NOTICE '% more usage lines run beyond their billing period', total - shown;
	END IF;
END
$$;

-- import_staged(tenant, export_name, source, billing_period): stores the
-- lines in pg_temp.import_staging (the parser's output plus a "period"
-- column) and derives everything from them.  Called by the two import
-- functions below, inside their statement.
CREATE FUNCTION commitopt.import_staged(tenant uuid, export text, source text,
										billing_period timestamptz)
RETURNS TABLE (billing_period_start timestamptz, format text, line_count int)
LANGUAGE plpgsql AS $$
DECLARE
	fmt text;
	periods timestamptz[];
	undated int;
	fallback timestamptz;
	p timestamptz;
BEGIN
	SELECT min(s.format) INTO fmt FROM pg_temp.import_staging s;

	-- Lines without any date (e.g. a refund, FC-04) belong to the billing
	-- period of the export: the one its dated lines name, or the one the
	-- caller gives.
	SELECT array_agg(DISTINCT s.period) FILTER (WHERE s.period IS NOT NULL),
		   min(s.line_no) FILTER (WHERE s.period IS NULL)
	  INTO periods, undated
	  FROM pg_temp.import_staging s;
	IF undated IS NOT NULL THEN
		fallback := date_trunc('month', billing_period, 'UTC');
		IF fallback IS NULL AND cardinality(periods) = 1 THEN
			fallback := periods[1];
		END IF;
		IF fallback IS NULL THEN
			RAISE EXCEPTION 'line % has no date and the billing period of the export is %',
				undated, CASE WHEN periods IS NULL THEN 'unknown' ELSE 'ambiguous' END
				USING ERRCODE = 'bad_copy_file_format',
					  HINT = 'Pass the billing period (billing_period => ''YYYY-MM-01'') to the import function.';
		END IF;
		UPDATE pg_temp.import_staging s SET period = fallback WHERE s.period IS NULL;
	END IF;

	-- A refund of a commitment purchase is no cost in the amortized view,
	-- just as the upfront fee it returns is not (FC-04).
	-- XXX: without an ARN on the refund, "returns an upfront fee" is
	-- recognized only by an equal and opposite amount in the same import.
	IF fmt <> 'focus' THEN
		UPDATE pg_temp.import_staging r SET amortized_cost = 0
		 WHERE r.charge_type = 'Refund'
		   AND (r.commitment_id IS NOT NULL
				OR EXISTS (SELECT 1 FROM pg_temp.import_staging u
							WHERE (u.charge_type = 'SavingsPlanUpfrontFee'
								   OR (u.charge_type = 'Fee' AND u.commitment_type = 'ri'))
							  AND u.unblended_cost = -r.unblended_cost));
	END IF;

	-- Replace the periods of this export; line items go with them.
	DELETE FROM commitopt.billing_imports b
	 WHERE b.tenant_id = tenant AND b.export_name = export
	   AND b.billing_period_start IN (SELECT DISTINCT s.period FROM pg_temp.import_staging s);

	CREATE TEMP TABLE import_periods (
		import_id bigint, billing_period_start timestamptz, line_count int
	) ON COMMIT DROP;
	WITH ins AS (
		INSERT INTO commitopt.billing_imports AS b
			(tenant_id, export_name, billing_period_start, format, source, line_count)
		SELECT tenant, export, s.period, fmt, source, count(*)
		  FROM pg_temp.import_staging s GROUP BY s.period
		RETURNING b.import_id, b.billing_period_start, b.line_count
	)
	INSERT INTO pg_temp.import_periods SELECT * FROM ins;

	INSERT INTO commitopt.billing_line_items
		(tenant_id, import_id, line_no, charge_type, billing_period_start,
		 usage_start, usage_end, account_id, service, region, availability_zone,
		 instance_type, platform, tenancy, usage_type, usage_amount, unit,
		 normalization_factor, unblended_cost, amortized_cost, public_od_cost,
		 od_rate, commitment_type, commitment_id, description, tags, pricing_category)
	SELECT tenant, ip.import_id, s.line_no, s.charge_type, s.period,
		   s.usage_start, s.usage_end, s.account_id, s.service, s.region, s.availability_zone,
		   s.instance_type, s.platform, s.tenancy, s.usage_type, s.usage_amount, s.unit,
		   s.normalization_factor, s.unblended_cost, s.amortized_cost, s.public_od_cost,
		   s.od_rate, s.commitment_type, s.commitment_id, s.description, s.tags,
		   s.pricing_category
	  FROM pg_temp.import_staging s
	  JOIN pg_temp.import_periods ip ON ip.billing_period_start = s.period;

	-- Usage known: the span of the usage lines of each imported period,
	-- within that period (usage run outside its billing month is dropped,
	-- so its hours are not known).
	DELETE FROM commitopt.usage_coverage uc
	 WHERE uc.tenant_id = tenant
	   AND uc.source IN (SELECT 'import:' || export || ':' || to_char(ip.billing_period_start AT TIME ZONE 'UTC', 'YYYY-MM')
						   FROM pg_temp.import_periods ip);
	INSERT INTO commitopt.usage_coverage (tenant_id, source, covered_from, covered_to)
	SELECT tenant, 'import:' || export || ':' || to_char(s.period AT TIME ZONE 'UTC', 'YYYY-MM'),
		   greatest(min(s.usage_start), s.period),
		   least(greatest(max(coalesce(s.usage_end, s.usage_start + interval '1 hour')),
						  min(s.usage_start) + interval '1 hour'),
				 pe.period_end)
	  FROM pg_temp.import_staging s
	 CROSS JOIN LATERAL (SELECT (s.period AT TIME ZONE 'UTC' + interval '1 month')
								AT TIME ZONE 'UTC' AS period_end) pe
	 WHERE commitopt.is_usage_charge(s.charge_type) AND s.usage_start IS NOT NULL
	   AND s.usage_start < pe.period_end
	   AND coalesce(s.usage_end, s.usage_start + interval '1 hour') > s.period
	 GROUP BY s.period, pe.period_end;

	-- Owners of commitments are accounts of the tenant.
	INSERT INTO commitopt.aws_accounts (tenant_id, account_id)
	SELECT DISTINCT tenant, s.account_id FROM pg_temp.import_staging s
	 WHERE s.commitment_id IS NOT NULL AND s.account_id ~ '^[0-9]{1,20}$'
	   AND s.charge_type IN ('RIFee', 'Fee', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee')
	ON CONFLICT DO NOTHING;

	PERFORM commitopt.report_usage_lines();
	PERFORM commitopt.import_commitments(tenant, fmt);

	FOREACH p IN ARRAY (SELECT array_agg(ip.billing_period_start) FROM pg_temp.import_periods ip)
	LOOP
		PERFORM commitopt.rebuild_usage_hourly(tenant, p);
	END LOOP;

	RETURN QUERY
	SELECT ip.billing_period_start, fmt, ip.line_count
	  FROM pg_temp.import_periods ip ORDER BY 1;
	DROP TABLE pg_temp.import_periods;
END
$$;

-- import_commitments(tenant, format): the RIs and Savings Plans that the
-- staged lines describe well enough, into the inventory (source 'import').
-- A commitment the export does not fully describe is skipped with a
-- NOTICE naming it and what is missing: nothing is invented.
-- XXX: FOCUS 1.0 gives neither an RI's count, type and term nor an SP's
-- hourly commitment, term and dates, so FOCUS commitments are never added;
-- they must come from the AWS API sync.
CREATE FUNCTION commitopt.import_commitments(tenant uuid, fmt text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	c record;
BEGIN
	IF fmt = 'focus' THEN
		FOR c IN SELECT DISTINCT s.commitment_type, s.commitment_id
				   FROM pg_temp.import_staging s
				  WHERE s.commitment_id IS NOT NULL ORDER BY 1, 2
		LOOP
			RAISE NOTICE '% % not added to the inventory: FOCUS 1.0 does not give its terms',
				CASE c.commitment_type WHEN 'ri' THEN 'reserved instance' ELSE 'savings plan' END,
				c.commitment_id;
		END LOOP;
		RETURN;
	END IF;

	-- Reserved Instances, described by their RIFee lines: the fee line is
	-- in the owner's account and its usage amount is the reserved
	-- instance-hours of the period, so (recurring fee + amortized upfront)
	-- / hours is the effective hourly cost of one instance.  An RI seen
	-- only on usage or upfront-fee lines is reported, not guessed.
	FOR c IN
		WITH fee AS (
			SELECT s.commitment_id,
				   (array_agg(s.account_id ORDER BY s.line_no)
					FILTER (WHERE s.account_id IS NOT NULL AND s.charge_type IN ('RIFee', 'Fee')))[1] AS owner,
				   (array_agg(s.region ORDER BY s.line_no)
					FILTER (WHERE s.region IS NOT NULL AND s.charge_type = 'RIFee'))[1] AS region,
				   (array_agg(s.availability_zone ORDER BY s.line_no)
					FILTER (WHERE s.availability_zone IS NOT NULL AND s.charge_type = 'RIFee'))[1] AS az,
				   (array_agg(s.instance_type ORDER BY s.line_no)
					FILTER (WHERE s.instance_type IS NOT NULL AND s.charge_type = 'RIFee'))[1] AS instance_type,
				   (array_agg(s.platform ORDER BY s.line_no)
					FILTER (WHERE s.platform IS NOT NULL AND s.charge_type = 'RIFee'))[1] AS platform,
				   (array_agg(s.tenancy ORDER BY s.line_no)
					FILTER (WHERE s.tenancy IS NOT NULL AND s.charge_type = 'RIFee'))[1] AS tenancy,
				   max(s.commitment_count) AS n,
				   min(s.commitment_start) AS start_time,
				   max(s.commitment_end) AS end_time,
				   sum(s.unblended_cost + coalesce(s.ri_upfront_for_period, 0)) FILTER (WHERE s.charge_type = 'RIFee')
				   / nullif(sum(s.usage_amount) FILTER (WHERE s.charge_type = 'RIFee'), 0) AS hourly,
				   lower(max(s.offering_class)) AS offering_class,
				   CASE max(s.payment_option)
					   WHEN 'All Upfront' THEN 'all_upfront'
					   WHEN 'Partial Upfront' THEN 'partial_upfront'
					   WHEN 'No Upfront' THEN 'no_upfront' END AS payment
			  FROM pg_temp.import_staging s
			 WHERE s.commitment_type = 'ri'
			 GROUP BY s.commitment_id
		)
		SELECT f.*, regexp_replace(f.commitment_id, '^.*reserved-instances/', '') AS ri_id,
			   array_to_string(ARRAY[
				   CASE WHEN f.owner !~ '^[0-9]{1,20}$' OR f.owner IS NULL THEN 'owner account' END,
				   CASE WHEN f.region IS NULL THEN 'region' END,
				   CASE WHEN f.instance_type IS NULL THEN 'instance type' END,
				   CASE WHEN f.platform IS NULL THEN 'platform' END,
				   CASE WHEN f.tenancy IS NULL THEN 'tenancy' END,
				   -- an invalid number is refused by the parser (line, column)
				   CASE WHEN f.n IS NULL THEN 'number of reservations' END,
				   CASE WHEN f.start_time IS NULL OR f.end_time IS NULL OR f.end_time <= f.start_time THEN 'term' END,
				   CASE WHEN f.hourly IS NULL OR f.hourly < 0 THEN 'hourly cost' END,
				   CASE WHEN f.offering_class IS NOT NULL AND f.offering_class NOT IN ('standard', 'convertible') THEN 'offering class' END],
				   ', ') AS missing
		  FROM fee f ORDER BY f.commitment_id
	LOOP
		IF c.missing <> '' THEN
			RAISE NOTICE 'reserved instance % not added to the inventory: the export does not give its %',
				c.commitment_id, c.missing;
			CONTINUE;
		END IF;
		INSERT INTO commitopt.reserved_instances AS r
			(tenant_id, ri_id, owner_account_id, region, availability_zone, instance_type,
			 platform, tenancy, instance_count, offering_class, payment_option,
			 start_time, end_time, effective_hourly_usd, source)
		VALUES (tenant, c.ri_id, c.owner, c.region, c.az, c.instance_type, c.platform,
				c.tenancy, c.n::int, coalesce(c.offering_class, 'standard'), c.payment,
				c.start_time, c.end_time, c.hourly, 'import')
		ON CONFLICT (tenant_id, ri_id) DO UPDATE
		   SET owner_account_id = excluded.owner_account_id, region = excluded.region,
			   availability_zone = excluded.availability_zone,
			   instance_type = excluded.instance_type, platform = excluded.platform,
			   tenancy = excluded.tenancy, instance_count = excluded.instance_count,
			   offering_class = excluded.offering_class,
			   payment_option = excluded.payment_option, start_time = excluded.start_time,
			   end_time = excluded.end_time,
			   effective_hourly_usd = excluded.effective_hourly_usd
		 WHERE r.source = 'import';
	END LOOP;

	-- Savings Plans, from their recurring fee lines: TotalCommitmentToDate
	-- over the hours a fee line spans is the hourly commitment.  A plan
	-- with a refund line was returned and is not owned.
	FOR c IN
		WITH fee AS (
			SELECT s.commitment_id,
				   (array_agg(s.account_id ORDER BY s.line_no) FILTER (WHERE s.account_id IS NOT NULL))[1] AS owner,
				   sum(s.sp_total_commitment)
				   / nullif(sum(extract(epoch FROM coalesce(s.usage_end, s.usage_start + interval '1 hour')
										- s.usage_start) / 3600)
							FILTER (WHERE s.sp_total_commitment IS NOT NULL), 0) AS hourly,
				   min(s.commitment_start) AS start_time,
				   max(s.commitment_end) AS end_time,
				   substring(max(s.term) FROM '^\s*([13])\s*(?:yr|year)') AS term,
				   CASE max(s.payment_option)
					   WHEN 'All Upfront' THEN 'all_upfront'
					   WHEN 'Partial Upfront' THEN 'partial_upfront'
					   WHEN 'No Upfront' THEN 'no_upfront' END AS payment,
				   CASE WHEN max(s.sp_offering_type) ~* 'compute' THEN 'compute'
						WHEN max(s.sp_offering_type) ~* 'ec2.?instance' THEN 'ec2_instance' END AS plan_type,
				   max(s.sp_region) FILTER (WHERE s.sp_region ~ '^[a-z]{2}(-[a-z]+)+-[0-9]+$') AS region,
				   max(s.sp_family) AS family
			  FROM pg_temp.import_staging s
			 WHERE s.commitment_type = 'sp' AND s.charge_type = 'SavingsPlanRecurringFee'
			 GROUP BY s.commitment_id
		)
		SELECT f.*, regexp_replace(f.commitment_id, '^.*savingsplan/', '') AS sp_id,
			   EXISTS (SELECT 1 FROM pg_temp.import_staging r
						WHERE r.charge_type = 'Refund' AND r.commitment_id = f.commitment_id) AS refunded,
			   array_to_string(ARRAY[
				   CASE WHEN f.owner !~ '^[0-9]{1,20}$' OR f.owner IS NULL THEN 'owner account' END,
				   CASE WHEN f.plan_type IS NULL THEN 'plan type' END,
				   CASE WHEN f.term IS NULL THEN 'term' END,
				   CASE WHEN f.payment IS NULL THEN 'payment option' END,
				   CASE WHEN f.hourly IS NULL OR f.hourly <= 0 THEN 'hourly commitment' END,
				   CASE WHEN f.start_time IS NULL OR f.end_time IS NULL OR f.end_time <= f.start_time THEN 'start and end' END,
				   CASE WHEN f.plan_type = 'ec2_instance' AND (f.region IS NULL OR f.family IS NULL)
						THEN 'region and instance family' END],
				   ', ') AS missing
		  FROM fee f ORDER BY f.commitment_id
	LOOP
		IF c.refunded THEN
			RAISE NOTICE 'savings plan % not added to the inventory: it was refunded', c.commitment_id;
			CONTINUE;
		END IF;
		IF c.missing <> '' THEN
			RAISE NOTICE 'savings plan % not added to the inventory: the export does not give its %',
				c.commitment_id, c.missing;
			CONTINUE;
		END IF;
		INSERT INTO commitopt.savings_plans AS sp
			(tenant_id, sp_id, owner_account_id, plan_type, region, instance_family,
			 term_years, payment_option, hourly_commitment_usd, start_time, end_time, source)
		VALUES (tenant, c.sp_id, c.owner, c.plan_type,
				CASE WHEN c.plan_type = 'ec2_instance' THEN c.region END,
				CASE WHEN c.plan_type = 'ec2_instance' THEN c.family END,
				c.term::int, c.payment, c.hourly, c.start_time, c.end_time, 'import')
		ON CONFLICT (tenant_id, sp_id) DO UPDATE
		   SET owner_account_id = excluded.owner_account_id, plan_type = excluded.plan_type,
			   region = excluded.region, instance_family = excluded.instance_family,
			   term_years = excluded.term_years, payment_option = excluded.payment_option,
			   hourly_commitment_usd = excluded.hourly_commitment_usd,
			   start_time = excluded.start_time, end_time = excluded.end_time
		 WHERE sp.source = 'import';
	END LOOP;
END
$$;

-- check_import_tenant(tenant): the tenant must exist.
CREATE FUNCTION commitopt.check_import_tenant(tenant uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF tenant IS NULL OR NOT EXISTS (SELECT 1 FROM commitopt.tenants t WHERE t.tenant_id = tenant) THEN
		RAISE EXCEPTION 'tenant % does not exist', coalesce(tenant::text, 'NULL')
			USING ERRCODE = 'no_data_found';
	END IF;
END
$$;

-- check_export_name(export): an export name is a non-blank text of at
-- most 200 characters.
CREATE FUNCTION commitopt.check_export_name(export text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF export IS NULL OR btrim(export) = '' THEN
		RAISE EXCEPTION 'export name must not be %', CASE WHEN export IS NULL THEN 'null' ELSE 'empty' END
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the export as in AWS Data Exports, or leave the default ''default''.';
	END IF;
	IF length(export) > 200 THEN
		RAISE EXCEPTION 'export name "%..." is longer than 200 characters', left(export, 40)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;

-- lock_tenant(tenant): serializes the imports and simulations of one
-- tenant until the end of the transaction, so that two of them never
-- replace the same billing period or simulation window at once (the second
-- waits, then replaces what the first stored).  The key is derived from
-- the tenant id with a fixed prefix, apart from other advisory locks.
-- Only a session acting for that tenant, or one allowed to import server
-- files (operators), may take it: holding another tenant's lock in an open
-- transaction would stall that tenant's imports.
CREATE FUNCTION commitopt.lock_tenant(tenant uuid)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF tenant IS DISTINCT FROM commitopt.current_tenant()
	   AND NOT pg_has_role(current_user, 'pg_read_server_files', 'USAGE') THEN
		RAISE EXCEPTION 'permission denied to act for tenant %', tenant
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM pg_advisory_xact_lock(hashtextextended('commitopt.tenant:' || tenant::text, 0));
END
$$;

-- import_billing_file(tenant, path, export_name, billing_period): imports a
-- server-side billing export file (FOCUS 1.x, legacy CUR or CUR 2.0),
-- replacing the billing periods it contains for that export.  One row per
-- billing period imported.  billing_period is only needed for exports
-- that carry no dates at all.
CREATE FUNCTION commitopt.import_billing_file(tenant uuid, path text,
											  export_name text DEFAULT 'default',
											  billing_period timestamptz DEFAULT NULL)
RETURNS TABLE (billing_period_start timestamptz, format text, line_count int)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM commitopt.check_import_tenant(tenant);
	PERFORM commitopt.check_export_name(export_name);
	PERFORM commitopt.lock_tenant(tenant);
	IF to_regclass('pg_temp.import_staging') IS NOT NULL THEN
		DROP TABLE pg_temp.import_staging;
	END IF;
	CREATE TEMP TABLE import_staging ON COMMIT DROP AS
	SELECT l.*, date_trunc('month', coalesce(l.billing_period_start, l.usage_start), 'UTC') AS period
	  FROM commitopt.parse_billing_file(path) l;
	RETURN QUERY SELECT * FROM commitopt.import_staged(tenant, export_name, path, billing_period);
	DROP TABLE pg_temp.import_staging;
END
$$;

-- import_billing_upload(tenant, export_name, billing_period): imports the
-- export this session streamed into commitopt.billing_upload, then empties
-- the session's upload.  Same result and rules as import_billing_file.  A
-- failed import keeps the lines (the transaction rolls back): its error
-- hints at commitopt.discard_billing_upload().
CREATE FUNCTION commitopt.import_billing_upload(tenant uuid DEFAULT commitopt.current_tenant(),
												export_name text DEFAULT 'default',
												billing_period timestamptz DEFAULT NULL)
RETURNS TABLE (billing_period_start timestamptz, format text, line_count int)
LANGUAGE plpgsql AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	PERFORM commitopt.check_import_tenant(tenant);
	PERFORM commitopt.check_export_name(export_name);
	PERFORM commitopt.lock_tenant(tenant);
	BEGIN
		IF to_regclass('pg_temp.import_staging') IS NOT NULL THEN
			DROP TABLE pg_temp.import_staging;
		END IF;
		CREATE TEMP TABLE import_staging ON COMMIT DROP AS
		SELECT l.*, date_trunc('month', coalesce(l.billing_period_start, l.usage_start), 'UTC') AS period
		  FROM commitopt.parse_billing_upload(tenant) l;
		RETURN QUERY SELECT * FROM commitopt.import_staged(tenant, export_name, 'upload', billing_period);
		DROP TABLE pg_temp.import_staging;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
			e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
		-- (an empty upload has no lines to keep or discard)
		IF EXISTS (SELECT 1 FROM commitopt.billing_upload u
					WHERE u.tenant_id = tenant
					  AND u.upload_session = commitopt.upload_session()) THEN
			e_hint := concat_ws(' ', nullif(e_hint, ''),
								'The uploaded lines are kept; call commitopt.discard_billing_upload() before streaming the export again.');
		ELSE
			e_hint := concat_ws(' ', nullif(e_hint, ''),
								'This session streamed no lines into commitopt.billing_upload_lines.');
		END IF;
		e_hint := coalesce(e_hint, '');
		-- a RAISE option cannot be null, and an empty one prints a line
		IF e_detail = '' AND e_hint = '' THEN
			RAISE EXCEPTION USING ERRCODE = e_state, MESSAGE = e_message;
		ELSIF e_detail = '' THEN
			RAISE EXCEPTION USING ERRCODE = e_state, MESSAGE = e_message, HINT = e_hint;
		ELSIF e_hint = '' THEN
			RAISE EXCEPTION USING ERRCODE = e_state, MESSAGE = e_message,
				DETAIL = e_detail;
		END IF;
		RAISE EXCEPTION USING ERRCODE = e_state, MESSAGE = e_message,
			DETAIL = e_detail, HINT = e_hint;
	END;
	DELETE FROM commitopt.billing_upload u
	 WHERE u.tenant_id = tenant AND u.upload_session = commitopt.upload_session();
END
$$;

-- billing_upload_lines: where a client streams the lines of an export.
-- COPY cannot write into a table under row-level security, so clients
-- copy into this view instead; its trigger stores each line for the
-- session's tenant in commitopt.billing_upload (see the README for the
-- psql recipe).
CREATE VIEW commitopt.billing_upload_lines WITH (security_invoker = true) AS
SELECT line FROM commitopt.billing_upload;

CREATE FUNCTION commitopt.billing_upload_line_insert()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	tenant uuid := commitopt.current_tenant();
BEGIN
	IF tenant IS NULL THEN
		RAISE EXCEPTION 'this session acts for no tenant'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Stream exports as a database role mapped to a tenant (commitopt.grant_analyst), or import a server-side file with commitopt.import_billing_file().';
	END IF;
	INSERT INTO commitopt.billing_upload (tenant_id, line) VALUES (tenant, NEW.line);
	RETURN NEW;
END
$$;

CREATE TRIGGER billing_upload_lines_insert
	INSTEAD OF INSERT ON commitopt.billing_upload_lines
	FOR EACH ROW EXECUTE FUNCTION commitopt.billing_upload_line_insert();

-- import_my_billing_upload(export_name, billing_period): an analyst
-- imports the lines they streamed, into their own tenant (that of the
-- session: commitopt.current_tenant()).  It runs as the owner role (see
-- 99_rls.sql), so row-level security confines it to that tenant.
CREATE FUNCTION commitopt.import_my_billing_upload(export_name text DEFAULT 'default',
												   billing_period timestamptz DEFAULT NULL)
RETURNS TABLE (billing_period_start timestamptz, format text, line_count int)
LANGUAGE plpgsql AS $$
DECLARE
	tenant uuid := commitopt.current_tenant();
BEGIN
	IF tenant IS NULL THEN
		RAISE EXCEPTION 'this session acts for no tenant'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Operators import an upload with commitopt.import_billing_upload(tenant).';
	END IF;
	RETURN QUERY SELECT * FROM commitopt.import_billing_upload(tenant, export_name, billing_period);
END
$$;

-- discard_billing_upload(): deletes the lines this session streamed into
-- commitopt.billing_upload (after a failed import, or to start over);
-- returns how many.
CREATE FUNCTION commitopt.discard_billing_upload()
RETURNS bigint LANGUAGE sql VOLATILE
BEGIN ATOMIC
	WITH d AS (
		DELETE FROM commitopt.billing_upload u
		 WHERE u.upload_session = commitopt.upload_session()
		RETURNING 1
	)
	SELECT count(*) FROM d;
END;
