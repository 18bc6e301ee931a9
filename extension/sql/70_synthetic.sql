-- commitopt install script, part 7: the synthetic fleet generator.
--
-- generate_synthetic_fleet() writes a made-up but plausible EC2 fleet for a
-- tenant: accounts, usage series with hourly usage, and a commitment
-- inventory.  It serves demos, tests and benchmarks; nothing it writes
-- comes from a bill, and every row it writes says so (account names start
-- with 'synthetic', commitments and the coverage row have source
-- 'synthetic').
--
-- Randomness: setseed(seed) draws one salt; every random quantity after
-- that is a hash of (salt, what it is for), not a call to random().  So the
-- output depends on the seed alone, never on the order in which a query
-- plan happens to visit rows.

-- synthetic_uniform(k, salt): a pseudo-random number in (0, 1), the same
-- for the same (k, salt).  53 bits of the hash make the mantissa.
CREATE FUNCTION commitopt.synthetic_uniform(k bigint, salt bigint)
RETURNS float8 LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((hashint8extended(k, salt) & 9007199254740991)::float8 + 0.5)
	   / 9007199254740992.0;

-- synthetic_text_uniform(k, salt): the same for a text key.
CREATE FUNCTION commitopt.synthetic_text_uniform(k text, salt bigint)
RETURNS float8 LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((hashtextextended(k, salt) & 9007199254740991)::float8 + 0.5)
	   / 9007199254740992.0;


-- synthetic_pick_series(tenant, series, profile, salt, members, regions,
-- total_hours): fills pg_temp.syn_series with the series to generate and
-- the parameters of their usage curves.
--
-- The candidates are every (member account, region, zone, instance type,
-- platform) with an on-demand rate; each gets a weight (common families,
-- small sizes, Linux and the first accounts weigh more) and a weighted
-- random sample without replacement keeps 'series' of them: sorting by
-- -ln(u) / weight is such a sample.  Profile 'bench' keeps only Linux
-- types of size-flexible families that have RI rates.
CREATE FUNCTION commitopt.synthetic_pick_series(tenant uuid, series int,
												profile text, salt bigint,
												members int, regions int,
												total_hours int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	candidates bigint;
	picked bigint;
BEGIN
	CREATE TEMP TABLE syn_types ON COMMIT DROP AS
	SELECT o.region, r.peak_hour, o.instance_type, o.platform,
		   commitopt.instance_family(o.instance_type) AS family,
		   commitopt.normalization_factor(o.instance_type) AS nf,
		   o.hourly_usd::float8 AS od_rate,
		   sp.hourly_usd::float8 AS sp_rate,
		   EXISTS (SELECT FROM commitopt.ri_rates ri
					WHERE ri.region = o.region
					  AND ri.instance_type = o.instance_type
					  AND ri.platform = o.platform
					  AND ri.tenancy = o.tenancy) AS has_ri,
		   o.platform = 'linux' AND coalesce(f.size_flexible, true) AS flexible
	  FROM commitopt.od_rates o
	  JOIN (VALUES ('us-east-1', 18.0::float8, 1), ('us-west-2', 21.0, 2),
				   ('eu-west-1', 13.0, 3), ('ap-northeast-1', 5.0, 4),
				   ('us-east-2', 18.0, 5), ('ap-southeast-1', 6.0, 6),
				   ('eu-west-2', 13.0, 7)) AS r(region, peak_hour, pos)
		ON r.region = o.region
	  JOIN commitopt.sp_rates sp
		ON sp.plan_type = 'compute' AND sp.term_years = 1
	   AND sp.payment_option = 'no_upfront' AND sp.region = o.region
	   AND sp.instance_type = o.instance_type AND sp.platform = o.platform
	   AND sp.tenancy = o.tenancy
	  LEFT JOIN commitopt.instance_families f
		ON f.family = commitopt.instance_family(o.instance_type)
	 WHERE o.tenancy = 'default' AND o.hourly_usd > 0
	   AND commitopt.normalization_factor(o.instance_type) IS NOT NULL
	   -- us-east-1 always, then a seeded choice of the others
	   AND r.region IN (SELECT r2.region
						  FROM (VALUES ('us-east-1', 1), ('us-west-2', 2),
									   ('eu-west-1', 3), ('ap-northeast-1', 4),
									   ('us-east-2', 5), ('ap-southeast-1', 6),
									   ('eu-west-2', 7)) AS r2(region, pos)
						 ORDER BY r2.pos = 1 DESC,
								  commitopt.synthetic_text_uniform(r2.region, salt)
						 LIMIT regions);
	IF profile = 'bench' THEN
		DELETE FROM pg_temp.syn_types t WHERE NOT (t.flexible AND t.has_ri);
	END IF;

	CREATE TEMP TABLE syn_series ON COMMIT DROP AS
	WITH cand AS (
		SELECT a.account_id, t.region, t.region || z.zone AS az, t.instance_type,
			   t.platform, t.family, t.nf, t.od_rate, t.sp_rate, t.has_ri,
			   t.flexible, t.peak_hour,
			   coalesce(fw.w, 0.05)
			   * CASE t.platform WHEN 'linux' THEN 1.0 WHEN 'windows' THEN 0.3
				 WHEN 'rhel' THEN 0.06 WHEN 'suse' THEN 0.05
				 WHEN 'windows_sql_std' THEN 0.04 WHEN 'windows_sql_web' THEN 0.03
				 ELSE 0.01 END
			   / sqrt(t.nf) / sqrt(a.k) * z.w AS weight
		  FROM pg_temp.syn_types t
		 CROSS JOIN generate_series(1, members) AS a0(k)
		 CROSS JOIN LATERAL (SELECT a0.k, commitopt.synthetic_account(a0.k) AS account_id) a
		 CROSS JOIN (VALUES ('a', 1.0), ('b', 0.8), ('c', 0.5)) AS z(zone, w)
		  LEFT JOIN (VALUES ('m5', 5.0), ('m4', 5.0), ('c5', 4.0), ('c4', 3.0),
							('r4', 4.0), ('t2', 4.0), ('i3', 1.5), ('m3', 1.0),
							('c3', 1.0), ('r3', 1.0), ('d2', 0.7), ('x1', 0.3),
							('x1e', 0.2), ('p2', 0.3), ('p3', 0.3), ('g3', 0.3))
					AS fw(family, w) ON fw.family = t.family
	), sample AS (
		SELECT c.*,
			   row_number() OVER (ORDER BY -ln(commitopt.synthetic_text_uniform(
					concat_ws('/', c.account_id, c.az, c.instance_type, c.platform),
					salt)) / c.weight, c.account_id, c.az, c.instance_type,
					c.platform) AS series_no
		  FROM cand c
	)
	SELECT s.series_no, s.account_id, s.region, s.az, s.instance_type,
		   s.platform, s.family, s.nf, s.od_rate, s.sp_rate, s.has_ri,
		   s.flexible, NULL::bigint AS series_id,
		   p.base, p.diurnal, p.peak, p.weekend, p.trend, p.noise,
		   p.start_h, p.stop_h, p.batch, p.batch_start, p.batch_len
	  FROM sample s
	 CROSS JOIN LATERAL commitopt.synthetic_series_params(s.series_no, series,
			s.nf, s.peak_hour, total_hours, salt) AS p
	 WHERE s.series_no <= series;
	GET DIAGNOSTICS picked = ROW_COUNT;

	IF picked < series THEN
		SELECT count(*) * members * 3 INTO candidates FROM pg_temp.syn_types;
		RAISE EXCEPTION 'cannot generate % usage series', series
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Profile "%s" with the reference prices loaded allows %s distinct series.',
								  profile, candidates),
				  HINT = CASE WHEN candidates = 0
							  THEN 'Load the reference prices first with commitopt.load_reference_data().'
							  ELSE 'Ask for fewer series.' END;
	END IF;
	RETURN picked;
END
$$;

-- synthetic_account(k): the account id of the k-th generated account; 0
-- is the payer (management) account.  The 9999 prefix keeps them apart
-- from real twelve-digit ids in practice.
CREATE FUNCTION commitopt.synthetic_account(k int)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN '9999' || lpad(k::text, 8, '0');

-- synthetic_series_params(...): the shape of one series' usage curve.
--   base      typical instances running (fewer for bigger sizes)
--   diurnal   relative amplitude of the daily cycle, peaking at 'peak'
--   weekend   relative dip on Saturdays and Sundays (UTC)
--   trend     relative change from the first to the last hour
--   noise     relative standard deviation of hourly noise
--   start_h, stop_h   the hours (from the window start) it runs between
--   batch     a batch job: a few hours a day, plus rare spikes
CREATE FUNCTION commitopt.synthetic_series_params(
	series_no bigint, series int, nf float8, region_peak float8,
	total_hours int, salt bigint,
	OUT base float8, OUT diurnal float8, OUT peak float8, OUT weekend float8,
	OUT trend float8, OUT noise float8, OUT start_h int, OUT stop_h int,
	OUT batch boolean, OUT batch_start int, OUT batch_len int)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	u float8[];
BEGIN
	SELECT array_agg(commitopt.synthetic_uniform(series_no * 32 + j, salt + 1)
					 ORDER BY j)
	  INTO u FROM generate_series(1, 14) j;

	-- One or two series are batch jobs (which ones is random, as the
	-- series numbers follow the seeded sample order).
	batch := (series >= 10 AND series_no IN (2, 5))
		OR (series BETWEEN 3 AND 9 AND series_no = 2);
	base := round((0.6 + 14 * u[1] ^ 3) * sqrt(8 / nf) * 100) / 100;
	IF batch THEN
		base := base * 4;
	END IF;
	diurnal := 0.5 * u[2] ^ 1.5;
	peak := region_peak + (u[3] - 0.5) * 4;
	weekend := CASE WHEN u[4] < 0.6 THEN 0.35 * u[5] ELSE 0 END;
	trend := -0.3 + 0.9 * u[6];
	noise := 0.03 + 0.12 * u[7];
	start_h := CASE WHEN u[8] < 0.15 THEN floor(u[9] * 0.7 * total_hours)::int ELSE 0 END;
	stop_h := CASE WHEN u[10] < 0.10
				   THEN start_h + ceil((total_hours - start_h) * (0.3 + 0.6 * u[11]))::int
				   ELSE total_hours END;
	batch_start := floor(u[12] * 24)::int;
	batch_len := 2 + floor(u[13] * 5)::int;
END
$$;

-- synthetic_usage(tenant, start_at, total_hours, salt): writes the hourly
-- usage of every series of pg_temp.syn_series, one row per series and
-- calendar month it runs in; hours outside the window or outside the
-- series' run are zero.  Each array is built in one subquery per row
-- rather than by aggregating a row per hour, which would sort millions.
CREATE FUNCTION commitopt.synthetic_usage(tenant uuid, start_at timestamptz,
										  total_hours int, salt bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	INSERT INTO commitopt.usage_hourly (tenant_id, series_id, period_start, amounts)
	SELECT tenant, s.series_id, m.period_start,
		   ARRAY(SELECT CASE
					 WHEN m.off + i < s.start_h OR m.off + i >= s.stop_h THEN 0::float8
					 WHEN s.batch THEN round(
						 (CASE WHEN ((m.eh0 + i) % 24 - s.batch_start + 24) % 24 < s.batch_len
							   THEN s.base * (0.7 + 0.6 * r.u1) ELSE 0 END
						  + CASE WHEN r.u2 < 0.004 THEN s.base * (1 + 2 * r.u1) ELSE 0 END)
						 * 100) / 100
					 ELSE greatest(0::float8, round(
						 s.base
						 * (1 + s.trend * (m.off + i)::float8 / total_hours)
						 * (1 + s.diurnal * cos(2 * pi() * ((m.eh0 + i) % 24 - s.peak) / 24))
						 * CASE WHEN ((m.eh0 + i) / 24 + 4) % 7 IN (0, 6)
								THEN 1 - s.weekend ELSE 1 END
						 * (1 + s.noise * sqrt(-2 * ln(r.u1)) * cos(2 * pi() * r.u2))
						 * 100) / 100)
					 END
				   FROM generate_series(0, m.nh - 1) AS i
				  CROSS JOIN LATERAL (
						SELECT commitopt.synthetic_uniform((s.series_no << 32) + 2 * (m.off + i), salt) AS u1,
							   commitopt.synthetic_uniform((s.series_no << 32) + 2 * (m.off + i) + 1, salt) AS u2) r
				  ORDER BY i)
	  FROM pg_temp.syn_series s
	 CROSS JOIN (
		-- Calendar months in UTC whatever the session's time zone: off is
		-- the month's first hour counted from the window start, nh its
		-- hours, eh0 its first hour counted from the Unix epoch (a
		-- Thursday, hence the +4 above to get the day of the week).
		SELECT p AT TIME ZONE 'UTC' AS period_start,
			   (extract(epoch FROM p AT TIME ZONE 'UTC' - start_at) / 3600)::int AS off,
			   (extract(epoch FROM (p + interval '1 month') - p) / 3600)::int AS nh,
			   (extract(epoch FROM p AT TIME ZONE 'UTC') / 3600)::bigint AS eh0
		  FROM generate_series(date_trunc('month', start_at, 'UTC') AT TIME ZONE 'UTC',
							   (start_at + (total_hours - 1) * interval '1 hour') AT TIME ZONE 'UTC',
							   interval '1 month') AS p) m
	 WHERE m.off + m.nh > s.start_h AND m.off < s.stop_h;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- synthetic_commitments(tenant, commitments, profile, start_at,
-- total_hours, salt, members): writes the commitment inventory for the
-- series of pg_temp.syn_series.
--
-- Sizing works from each series' floor: a cautious low level of its usage
-- (the base with the daily, weekly, trend and noise dips all at once,
-- scaled by the share of the window it runs).  A commitment covers 75 % to
-- 110 % of the floor of what it targets, so utilization is mostly high
-- without being always full.  Every commitment is of one kind, drawn in
-- fixed shares from the kinds of its profile; a kind with nothing to
-- cover hands its share to regional RIs, and those to Compute SPs.
--   bench: regional size-flexible Linux RIs (70 %) and Compute SPs, all
--          owned by the payer account, all 1-year No Upfront SPs so that
--          every usage has a single Savings Plan rate, whole-hour terms.
--   mixed: zonal RIs, regional RIs (size-flexible Linux, and exact-type
--          Windows and other platforms), EC2 Instance SPs, Compute SPs,
--          of every term and payment option, owned by the payer or a
--          member, some starting at odd minutes.
-- About a fifth expire inside the window and a sixth start inside it.
CREATE FUNCTION commitopt.synthetic_commitments(tenant uuid, commitments int,
												profile text, start_at timestamptz,
												total_hours int, salt bigint,
												members int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bench boolean := profile = 'bench';
	wanted jsonb;
	kind_name text;
	-- kinds in the order their ids are numbered (kind_no)
	kinds text[] := ARRAY['zonal', 'regional_exact', 'ec2_sp', 'compute_sp',
						  'regional_flex'];
	n_left int := commitments;
	n_ri bigint;
	n_sp bigint;
BEGIN
	-- What each kind can target, with the quantity to size against:
	-- NU for size-flexible RIs, instances for exact-type RIs, dollars at
	-- Savings Plan rates for plans (EC2 Instance plans for now; the
	-- Compute plan is sized after the RIs exist).
	CREATE TEMP TABLE syn_pools ON COMMIT DROP AS
	WITH f AS (
		SELECT s.*,
			   CASE WHEN s.batch THEN 0
					ELSE s.base * (1 - s.diurnal) * (1 - s.weekend)
						 * (1 + least(0, s.trend)) * greatest(0, 1 - 2 * s.noise)
						 * (s.stop_h - s.start_h) / total_hours END AS floor_qty
		  FROM pg_temp.syn_series s
	), p AS (
		SELECT 'regional_flex' AS kind, f.region, f.family,
			   NULL::text AS instance_type, 'linux' AS platform, NULL::text AS az,
			   NULL::text AS account_id, sum(f.floor_qty * f.nf) AS qty,
			   sum(f.floor_qty * f.od_rate) AS weight
		  FROM f WHERE f.flexible AND f.has_ri
		 GROUP BY f.region, f.family
		UNION ALL
		SELECT 'zonal', f.region, f.family, f.instance_type, f.platform, f.az,
			   f.account_id, f.floor_qty, f.floor_qty * f.od_rate
		  FROM f WHERE NOT bench AND f.has_ri AND f.floor_qty >= 0.75
		UNION ALL
		SELECT 'regional_exact', f.region, f.family, f.instance_type, f.platform,
			   NULL, NULL, sum(f.floor_qty), sum(f.floor_qty * f.od_rate)
		  FROM f WHERE NOT bench AND NOT f.flexible AND f.has_ri
		 GROUP BY f.region, f.family, f.instance_type, f.platform
		HAVING sum(f.floor_qty) >= 0.75
		UNION ALL
		SELECT 'ec2_sp', f.region, f.family, NULL, NULL, NULL, NULL,
			   sum(f.floor_qty * f.sp_rate), sum(f.floor_qty * f.sp_rate)
		  FROM f WHERE NOT bench
		 GROUP BY f.region, f.family
		UNION ALL
		SELECT 'compute_sp', NULL, NULL, NULL, NULL, NULL, NULL,
			   sum(f.floor_qty * f.sp_rate), 1
		  FROM f
	)
	SELECT p.*,
		   row_number() OVER (PARTITION BY p.kind
							  ORDER BY p.region, p.family, p.instance_type,
									   p.platform, p.az, p.account_id) AS pool_no,
		   coalesce(sum(p.weight) OVER w - p.weight, 0) / sum(p.weight) OVER k AS lo,
		   sum(p.weight) OVER w / sum(p.weight) OVER k AS hi
	  FROM p
	 WHERE p.weight > 0
	WINDOW k AS (PARTITION BY p.kind),
		   w AS (PARTITION BY p.kind ORDER BY p.region, p.family, p.instance_type,
									 p.platform, p.az, p.account_id
				 ROWS UNBOUNDED PRECEDING);

	-- How many commitments of each kind.
	IF bench THEN
		wanted := jsonb_build_object('compute_sp', round(commitments * 0.3));
	ELSE
		wanted := jsonb_build_object('zonal', round(commitments * 0.15),
									 'regional_exact', round(commitments * 0.10),
									 'ec2_sp', round(commitments * 0.15),
									 'compute_sp', round(commitments * 0.2));
	END IF;
	CREATE TEMP TABLE syn_slots (kind text, kind_no int, slot int) ON COMMIT DROP;
	FOREACH kind_name IN ARRAY kinds[1:4] LOOP
		IF wanted ? kind_name AND EXISTS (SELECT FROM pg_temp.syn_pools p WHERE p.kind = kind_name) THEN
			INSERT INTO pg_temp.syn_slots
			SELECT kind_name, array_position(kinds, kind_name), j
			  FROM generate_series(1, least(n_left, (wanted ->> kind_name)::int)) j;
			n_left := n_left - least(n_left, (wanted ->> kind_name)::int);
		END IF;
	END LOOP;
	IF n_left > 0 THEN
		kind_name := CASE WHEN EXISTS (SELECT FROM pg_temp.syn_pools p WHERE p.kind = 'regional_flex')
					 THEN 'regional_flex' ELSE 'compute_sp' END;
		INSERT INTO pg_temp.syn_slots
		SELECT kind_name, array_position(kinds, kind_name),
			   coalesce((SELECT max(s.slot) FROM pg_temp.syn_slots s WHERE s.kind = kind_name), 0) + j
		  FROM generate_series(1, n_left) j;
	END IF;

	n_ri := commitopt.synthetic_reserved_instances(tenant, bench, start_at, total_hours, salt, members);
	n_sp := commitopt.synthetic_savings_plans(tenant, bench, start_at, total_hours, salt, members);
	RETURN n_ri + n_sp;
END
$$;

-- synthetic_draw(kind_no, slot, what, salt): the random number 'what' of
-- commitment 'slot' of kind 'kind_no'.
CREATE FUNCTION commitopt.synthetic_draw(kind_no int, slot int, what int, salt bigint)
RETURNS float8 LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN commitopt.synthetic_uniform((kind_no * 1000000::bigint + slot) * 32 + what, salt + 2);

-- synthetic_term_start(...): when a generated commitment starts.  About a
-- fifth expire inside the window, a sixth start inside it, the rest run
-- through all of it; in the mixed profile some start at an odd minute.
CREATE FUNCTION commitopt.synthetic_term_start(kind_no int, slot int, salt bigint,
											   term_years int, start_at timestamptz,
											   total_hours int, odd_minutes boolean)
RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN start_at
	+ CASE WHEN commitopt.synthetic_draw(kind_no, slot, 4, salt) < 0.2
		   THEN 1 - 8760 * term_years
				+ floor(commitopt.synthetic_draw(kind_no, slot, 5, salt) * 0.9 * total_hours)
		   WHEN commitopt.synthetic_draw(kind_no, slot, 4, salt) < 0.35
		   THEN floor(commitopt.synthetic_draw(kind_no, slot, 5, salt) * 0.6 * total_hours)
		   ELSE -floor(commitopt.synthetic_draw(kind_no, slot, 5, salt)
					   * greatest(0, 8760 * term_years - total_hours)) END
	  * interval '1 hour'
	+ CASE WHEN odd_minutes AND commitopt.synthetic_draw(kind_no, slot, 6, salt) < 0.3
		   THEN (1 + floor(commitopt.synthetic_draw(kind_no, slot, 7, salt) * 59))
				* interval '1 minute'
		   ELSE interval '0' END;

-- synthetic_reserved_instances(...): the RIs of pg_temp.syn_slots.
CREATE FUNCTION commitopt.synthetic_reserved_instances(tenant uuid, bench boolean,
													   start_at timestamptz,
													   total_hours int, salt bigint,
													   members int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	INSERT INTO commitopt.reserved_instances
		(tenant_id, ri_id, owner_account_id, region, availability_zone,
		 instance_type, platform, tenancy, instance_count, offering_class,
		 payment_option, start_time, end_time, effective_hourly_usd, source)
	WITH a AS (
		SELECT s.kind_no, s.slot, p.*,
			   p.qty * (0.75 + 0.35 * commitopt.synthetic_draw(s.kind_no, s.slot, 3, salt))
			   * (0.5 + commitopt.synthetic_draw(s.kind_no, s.slot, 2, salt))
			   / sum(0.5 + commitopt.synthetic_draw(s.kind_no, s.slot, 2, salt))
					OVER (PARTITION BY s.kind, p.pool_no) AS share
		  FROM pg_temp.syn_slots s
		  JOIN pg_temp.syn_pools p
			ON p.kind = s.kind
		   AND commitopt.synthetic_draw(s.kind_no, s.slot, 1, salt) >= p.lo
		   AND commitopt.synthetic_draw(s.kind_no, s.slot, 1, salt) < p.hi
		 WHERE s.kind IN ('zonal', 'regional_exact', 'regional_flex')
	), typed AS (
		-- A size-flexible RI is of a random size of its family that fits
		-- its share at least once (the smallest size when none does).
		SELECT a.*, t.instance_type AS ri_type,
			   greatest(1, round(a.share / CASE WHEN a.kind = 'regional_flex'
												THEN t.nf ELSE 1 END))::int AS ri_count,
			   CASE WHEN commitopt.synthetic_draw(a.kind_no, a.slot, 9, salt) < 0.7
					THEN 'standard' ELSE 'convertible' END AS want_class,
			   CASE WHEN commitopt.synthetic_draw(a.kind_no, a.slot, 10, salt) < 0.7
					THEN 1 ELSE 3 END AS want_term,
			   (ARRAY['no_upfront', 'partial_upfront', 'all_upfront'])[
					1 + floor(commitopt.synthetic_draw(a.kind_no, a.slot, 11, salt) * 3)::int]
					AS want_payment
		  FROM a
		 CROSS JOIN LATERAL (
			SELECT t.instance_type, t.nf
			  FROM pg_temp.syn_types t
			 WHERE t.region = a.region AND t.platform = a.platform AND t.has_ri
			   AND (t.instance_type = a.instance_type
					OR (a.kind = 'regional_flex' AND t.family = a.family AND t.flexible))
			 ORDER BY t.nf <= a.share DESC,
					  CASE WHEN t.nf <= a.share
						   THEN commitopt.synthetic_text_uniform(t.instance_type,
								salt + a.kind_no * 1000000 + a.slot)
						   ELSE t.nf END,
					  t.instance_type
			 LIMIT 1) t
	)
	SELECT tenant,
		   'synthetic-ri-' || lpad(row_number() OVER (ORDER BY t.kind_no, t.slot)::text, 4, '0'),
		   CASE WHEN bench THEN commitopt.synthetic_account(0)
				WHEN t.kind = 'zonal' AND commitopt.synthetic_draw(t.kind_no, t.slot, 8, salt) < 0.6
				THEN t.account_id
				WHEN commitopt.synthetic_draw(t.kind_no, t.slot, 8, salt) < 0.5
				THEN commitopt.synthetic_account(0)
				ELSE commitopt.synthetic_account(1 + floor(
					commitopt.synthetic_draw(t.kind_no, t.slot, 13, salt) * members)::int) END,
		   t.region, t.az, t.ri_type, t.platform, 'default', t.ri_count,
		   r.offering_class, r.payment_option,
		   st.start_time, st.start_time + r.term_years * 8760 * interval '1 hour',
		   r.effective_hourly_usd, 'synthetic'
	  FROM typed t
	 CROSS JOIN LATERAL (
		SELECT ri.offering_class, ri.term_years, ri.payment_option, ri.effective_hourly_usd
		  FROM commitopt.ri_rates ri
		 WHERE ri.region = t.region AND ri.instance_type = t.ri_type
		   AND ri.platform = t.platform AND ri.tenancy = 'default'
		 ORDER BY ri.offering_class = t.want_class DESC, ri.term_years = t.want_term DESC,
				  ri.payment_option = t.want_payment DESC,
				  ri.offering_class, ri.term_years, ri.payment_option
		 LIMIT 1) r
	 CROSS JOIN LATERAL (
		SELECT commitopt.synthetic_term_start(t.kind_no, t.slot, salt, r.term_years,
											  start_at, total_hours, NOT bench) AS start_time) st;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- synthetic_savings_plans(...): the Savings Plans of pg_temp.syn_slots,
-- sized on what the RIs just written leave uncovered: an EC2 Instance plan
-- takes up to half of its family's remaining floor, the Compute plans
-- most of what remains overall.
CREATE FUNCTION commitopt.synthetic_savings_plans(tenant uuid, bench boolean,
												  start_at timestamptz,
												  total_hours int, salt bigint,
												  members int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	ec2_total float8;
	compute_left float8;
BEGIN
	-- The RIs' capacity priced at Compute SP rates, per region and family.
	CREATE TEMP TABLE syn_ri_equiv ON COMMIT DROP AS
	SELECT t.region, t.family, sum(ri.instance_count * t.sp_rate) AS sp_cost
	  FROM commitopt.reserved_instances ri
	  JOIN pg_temp.syn_types t
		ON t.region = ri.region AND t.instance_type = ri.instance_type
	   AND t.platform = ri.platform
	 WHERE ri.tenant_id = tenant AND ri.source = 'synthetic'
	 GROUP BY t.region, t.family;

	CREATE TEMP TABLE syn_sp ON COMMIT DROP AS
	SELECT s.kind, s.kind_no, s.slot, p.region, p.family,
		   CASE WHEN s.kind = 'ec2_sp'
				THEN 0.5 * greatest(0, p.qty - coalesce(e.sp_cost, 0))
				ELSE NULL END
		   * (0.75 + 0.35 * commitopt.synthetic_draw(s.kind_no, s.slot, 3, salt))
		   * (0.5 + commitopt.synthetic_draw(s.kind_no, s.slot, 2, salt))
		   / sum(0.5 + commitopt.synthetic_draw(s.kind_no, s.slot, 2, salt))
				OVER (PARTITION BY s.kind, p.pool_no) AS commitment,
		   (0.5 + commitopt.synthetic_draw(s.kind_no, s.slot, 2, salt))
		   / sum(0.5 + commitopt.synthetic_draw(s.kind_no, s.slot, 2, salt))
				OVER (PARTITION BY s.kind, p.pool_no) AS part
	  FROM pg_temp.syn_slots s
	  JOIN pg_temp.syn_pools p
		ON p.kind = s.kind
	   AND commitopt.synthetic_draw(s.kind_no, s.slot, 1, salt) >= p.lo
	   AND commitopt.synthetic_draw(s.kind_no, s.slot, 1, salt) < p.hi
	  LEFT JOIN pg_temp.syn_ri_equiv e ON e.region = p.region AND e.family = p.family
	 WHERE s.kind IN ('ec2_sp', 'compute_sp');

	SELECT coalesce(sum(x.commitment), 0) INTO ec2_total
	  FROM pg_temp.syn_sp x WHERE x.kind = 'ec2_sp';
	SELECT greatest(p.qty - coalesce((SELECT sum(e.sp_cost) FROM pg_temp.syn_ri_equiv e), 0)
					- ec2_total, 0.1 * p.qty)
		   * CASE WHEN bench THEN 0.85 ELSE 0.7 END
	  INTO compute_left
	  FROM pg_temp.syn_pools p WHERE p.kind = 'compute_sp';
	UPDATE pg_temp.syn_sp x
	   SET commitment = compute_left * x.part
		   * (0.75 + 0.35 * commitopt.synthetic_draw(x.kind_no, x.slot, 3, salt))
	 WHERE x.kind = 'compute_sp';

	INSERT INTO commitopt.savings_plans
		(tenant_id, sp_id, owner_account_id, plan_type, region, instance_family,
		 term_years, payment_option, hourly_commitment_usd, start_time, end_time,
		 source)
	SELECT tenant,
		   'synthetic-sp-' || lpad(row_number() OVER (ORDER BY x.kind_no, x.slot)::text, 4, '0'),
		   CASE WHEN bench OR commitopt.synthetic_draw(x.kind_no, x.slot, 8, salt) < 0.7
				THEN commitopt.synthetic_account(0)
				ELSE commitopt.synthetic_account(1 + floor(
					commitopt.synthetic_draw(x.kind_no, x.slot, 13, salt) * members)::int) END,
		   CASE x.kind WHEN 'ec2_sp' THEN 'ec2_instance' ELSE 'compute' END,
		   CASE WHEN x.kind = 'ec2_sp' THEN x.region END,
		   CASE WHEN x.kind = 'ec2_sp' THEN x.family END,
		   k.term_years, k.payment_option,
		   greatest(0.001, round(x.commitment::numeric, 3)),
		   st.start_time, st.start_time + k.term_years * 8760 * interval '1 hour',
		   'synthetic'
	  FROM pg_temp.syn_sp x
	 CROSS JOIN LATERAL (
		SELECT CASE WHEN bench OR commitopt.synthetic_draw(x.kind_no, x.slot, 10, salt) < 0.7
					THEN 1 ELSE 3 END AS term_years,
			   CASE WHEN bench THEN 'no_upfront'
					ELSE (ARRAY['no_upfront', 'partial_upfront', 'all_upfront'])[
						1 + floor(commitopt.synthetic_draw(x.kind_no, x.slot, 11, salt) * 3)::int]
					END AS payment_option) k
	 CROSS JOIN LATERAL (
		SELECT commitopt.synthetic_term_start(x.kind_no, x.slot, salt, k.term_years,
											  start_at, total_hours, NOT bench) AS start_time) st;
	GET DIAGNOSTICS n = ROW_COUNT;
	DROP TABLE pg_temp.syn_ri_equiv, pg_temp.syn_sp;
	RETURN n;
END
$$;

-- generate_synthetic_fleet(...): replaces the tenant's generated fleet
-- with a new one and returns the number of usage series written.
--
-- The window is 'days' days from start_at (a whole UTC hour).  The fleet
-- has a payer account with no usage and a few member accounts (more for a
-- big fleet), two to four regions, series of instance types priced in
-- commitopt.od_rates with daily and weekly cycles, a trend and noise, some
-- starting or stopping inside the window, a batch job or two; and
-- 'commitments' RIs and Savings Plans priced from commitopt.ri_rates and
-- commitopt.sp_rates (see synthetic_commitments for the profiles).  The
-- reference data must be loaded first.  Running it again with the same
-- arguments writes the same fleet again.
CREATE FUNCTION commitopt.generate_synthetic_fleet(
	tenant uuid,
	series int DEFAULT 150,
	days int DEFAULT 365,
	commitments int DEFAULT 24,
	seed float8 DEFAULT 0.42,
	start_at timestamptz DEFAULT '2025-01-01 00:00+00',
	profile text DEFAULT 'mixed')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	salt bigint;
	total_hours int;
	members int;
	regions int;
	n bigint;
BEGIN
	IF tenant IS NULL OR series IS NULL OR days IS NULL OR commitments IS NULL
		OR seed IS NULL OR start_at IS NULL OR profile IS NULL THEN
		RAISE EXCEPTION 'arguments of generate_synthetic_fleet must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT FROM commitopt.tenants t WHERE t.tenant_id = tenant) THEN
		RAISE EXCEPTION 'tenant % does not exist', tenant
			USING ERRCODE = 'no_data_found';
	END IF;
	IF series NOT BETWEEN 1 AND 100000 THEN
		RAISE EXCEPTION 'number of series must be between 1 and 100000, not %', series
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF days NOT BETWEEN 1 AND 3660 THEN
		RAISE EXCEPTION 'number of days must be between 1 and 3660, not %', days
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF commitments NOT BETWEEN 0 AND 100000 THEN
		RAISE EXCEPTION 'number of commitments must be between 0 and 100000, not %', commitments
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF seed NOT BETWEEN -1 AND 1 THEN
		RAISE EXCEPTION 'seed must be between -1 and 1, not %', seed
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF profile NOT IN ('mixed', 'bench') THEN
		RAISE EXCEPTION 'unknown synthetic fleet profile "%"', profile
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The profiles are "mixed" and "bench".';
	END IF;
	IF start_at <> date_trunc('hour', start_at, 'UTC') THEN
		RAISE EXCEPTION 'start of the synthetic window must be a whole UTC hour, not %',
			to_char(start_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;

	PERFORM setseed(seed);
	salt := floor(random() * 4503599627370496)::bigint;
	total_hours := days * 24;
	members := least(12, 3 + series / 250);
	regions := 2 + floor(commitopt.synthetic_uniform(0, salt) * 3)::int;

	-- The previous generated fleet goes first (its series and usage go
	-- with its accounts).
	DELETE FROM commitopt.reserved_instances r
	 WHERE r.tenant_id = tenant AND r.source = 'synthetic';
	DELETE FROM commitopt.savings_plans p
	 WHERE p.tenant_id = tenant AND p.source = 'synthetic';
	DELETE FROM commitopt.usage_coverage c
	 WHERE c.tenant_id = tenant AND c.source = 'synthetic';
	DELETE FROM commitopt.aws_accounts a
	 WHERE a.tenant_id = tenant AND a.name LIKE 'synthetic %';

	-- Sharing is on everywhere, except that in the mixed profile the last
	-- member account keeps its benefits to itself.
	INSERT INTO commitopt.aws_accounts (tenant_id, account_id, name, sharing_enabled)
	SELECT tenant, commitopt.synthetic_account(k),
		   CASE WHEN k = 0 THEN 'synthetic payer (no usage)'
				ELSE 'synthetic member ' || k END,
		   NOT (profile = 'mixed' AND k = members AND members >= 3)
	  FROM generate_series(0, members) k;

	n := commitopt.synthetic_pick_series(tenant, series, profile, salt,
										  members, regions, total_hours);

	INSERT INTO commitopt.usage_series
		(tenant_id, account_id, region, availability_zone, instance_type,
		 platform, tenancy)
	SELECT tenant, s.account_id, s.region, s.az, s.instance_type, s.platform, 'default'
	  FROM pg_temp.syn_series s ORDER BY s.series_no;
	UPDATE pg_temp.syn_series s SET series_id = u.series_id
	  FROM commitopt.usage_series u
	 WHERE u.tenant_id = tenant AND u.account_id = s.account_id
	   AND u.region = s.region AND u.availability_zone = s.az
	   AND u.instance_type = s.instance_type AND u.platform = s.platform
	   AND u.tenancy = 'default';

	PERFORM commitopt.synthetic_usage(tenant, start_at, total_hours, salt);
	INSERT INTO commitopt.usage_coverage (tenant_id, source, covered_from, covered_to)
	VALUES (tenant, 'synthetic', start_at, start_at + total_hours * interval '1 hour');

	PERFORM commitopt.synthetic_commitments(tenant, commitments, profile, start_at,
											 total_hours, salt, members);
	DROP TABLE pg_temp.syn_types, pg_temp.syn_series, pg_temp.syn_pools,
		pg_temp.syn_slots;
	RETURN n;
END
$$;
COMMENT ON FUNCTION commitopt.generate_synthetic_fleet IS
	'Writes a SYNTHETIC (generated, not billed) fleet for a tenant: accounts, usage, commitments';
