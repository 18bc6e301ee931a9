-- commitopt install script, part 1: tenants, their AWS accounts, usage.
--
-- Every tenant-owned table has tenant_id first in its primary key so that
-- row-level security and distribution by tenant need no other column.

CREATE TABLE commitopt.tenants (
	tenant_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
	name text NOT NULL CHECK (name <> ''),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE commitopt.tenants IS 'Customers; every other table is scoped to one';

-- An AWS account of a tenant's organization.  An account with sharing off
-- neither gives nor receives commitment benefits across accounts.
CREATE TABLE commitopt.aws_accounts (
	tenant_id uuid NOT NULL REFERENCES commitopt.tenants ON DELETE CASCADE,
	account_id text NOT NULL CHECK (account_id ~ '^[0-9]{1,20}$'),
	name text,
	sharing_enabled boolean NOT NULL DEFAULT true,
	PRIMARY KEY (tenant_id, account_id)
);

-- One usage series: instances of one configuration in one account and
-- place.  availability_zone is '' when the source does not say.
CREATE TABLE commitopt.usage_series (
	tenant_id uuid NOT NULL,
	series_id bigint GENERATED ALWAYS AS IDENTITY,
	account_id text NOT NULL,
	region text NOT NULL,
	availability_zone text NOT NULL DEFAULT '',
	instance_type text NOT NULL,
	platform text NOT NULL REFERENCES commitopt.platforms,
	tenancy text NOT NULL REFERENCES commitopt.tenancies,
	PRIMARY KEY (tenant_id, series_id),
	UNIQUE (tenant_id, account_id, region, availability_zone,
			instance_type, platform, tenancy),
	FOREIGN KEY (tenant_id, account_id)
		REFERENCES commitopt.aws_accounts ON DELETE CASCADE
);

-- Hourly usage of a series in one calendar month (UTC), stored compactly:
-- amounts[i] is the instance-hours run in hour i (1-based) after
-- period_start, one element per hour of the month.  od_rate is the
-- on-demand rate the bill showed, when it showed one.
CREATE TABLE commitopt.usage_hourly (
	tenant_id uuid NOT NULL,
	series_id bigint NOT NULL,
	period_start timestamptz NOT NULL
		CHECK (period_start = date_trunc('month', period_start, 'UTC')),
	amounts float8[] NOT NULL,
	od_rate numeric CHECK (od_rate >= 0),
	PRIMARY KEY (tenant_id, series_id, period_start),
	FOREIGN KEY (tenant_id, series_id)
		REFERENCES commitopt.usage_series ON DELETE CASCADE,
	CHECK (array_ndims(amounts) = 1 AND array_lower(amounts, 1) = 1
		   AND array_length(amounts, 1) = extract(epoch FROM
				(period_start AT TIME ZONE 'UTC' + interval '1 month')
				- period_start AT TIME ZONE 'UTC') / 3600)
);

-- The time spans for which a tenant's usage is known (zero included): an
-- hour outside every span has no data, an hour inside with no usage ran
-- nothing.  Each import or generator run records its span.
CREATE TABLE commitopt.usage_coverage (
	tenant_id uuid NOT NULL REFERENCES commitopt.tenants ON DELETE CASCADE,
	source text NOT NULL,
	covered_from timestamptz NOT NULL,
	covered_to timestamptz NOT NULL CHECK (covered_to > covered_from),
	PRIMARY KEY (tenant_id, source)
);

-- usage_hours: one row per series and hour, for analysts.
CREATE VIEW commitopt.usage_hours WITH (security_invoker = true) AS
SELECT s.tenant_id, s.series_id, s.account_id, s.region,
	   s.availability_zone, s.instance_type, s.platform, s.tenancy,
	   h.period_start + (a.ord - 1) * interval '1 hour' AS hour,
	   a.instance_hours, h.od_rate
  FROM commitopt.usage_hourly h
  JOIN commitopt.usage_series s USING (tenant_id, series_id)
 CROSS JOIN LATERAL unnest(h.amounts) WITH ORDINALITY AS a(instance_hours, ord);

-- usage_extent(tenant): the latest stretch of time over which usage is
-- known without a gap: coverage spans that overlap or touch are merged,
-- and the last merged stretch is returned.  A lookback window must lie
-- inside it, or it would count unknown hours as hours without usage.
CREATE FUNCTION commitopt.usage_extent(tenant uuid,
									   OUT extent_from timestamptz,
									   OUT extent_to timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
	WITH spans AS (
		SELECT covered_from, covered_to,
			   max(covered_to) OVER (ORDER BY covered_from, covered_to
									 ROWS BETWEEN UNBOUNDED PRECEDING
									 AND 1 PRECEDING) AS reach_before
		  FROM commitopt.usage_coverage
		 WHERE tenant_id = tenant
	), islands AS (
		SELECT covered_from, covered_to,
			   count(*) FILTER (WHERE reach_before IS NULL
								OR reach_before < covered_from)
				   OVER (ORDER BY covered_from, covered_to) AS island
		  FROM spans
	)
	SELECT min(covered_from), max(covered_to)
	  FROM islands
	 GROUP BY island
	 ORDER BY island DESC
	 LIMIT 1;
END;

-- ensure_tenant(slug, name): an operator creates a tenant; returns its id.
-- Creating an existing slug returns the existing tenant unchanged, so that
-- set-up scripts can run again.
CREATE FUNCTION commitopt.ensure_tenant(slug text, name text)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
	id uuid;
BEGIN
	SELECT t.tenant_id INTO id FROM commitopt.tenants t WHERE t.slug = ensure_tenant.slug;
	IF NOT FOUND THEN
		INSERT INTO commitopt.tenants (slug, name)
		VALUES (ensure_tenant.slug, ensure_tenant.name)
		RETURNING tenant_id INTO id;
	END IF;
	RETURN id;
END
$$;

-- tenant_id(slug): the id of a tenant named by its slug, or an error.
CREATE FUNCTION commitopt.tenant_id(slug text)
RETURNS uuid LANGUAGE plpgsql STABLE AS $$
DECLARE
	id uuid;
BEGIN
	SELECT t.tenant_id INTO id FROM commitopt.tenants t WHERE t.slug = tenant_id.slug;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'tenant "%" does not exist', slug
			USING ERRCODE = 'no_data_found';
	END IF;
	RETURN id;
END
$$;

-- Analysts are database roles mapped to one tenant each.  The mapping is
-- reference data (no tenant_id key of its own to filter on): it must be
-- readable wherever a policy asks which tenant the session belongs to.
CREATE TABLE commitopt.analyst_grants (
	role_name name PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES commitopt.tenants ON DELETE CASCADE
);

-- current_tenant(): the tenant of this transaction: the one in a valid
-- signed claim (set by the API entry point, see extension/claim.c), else
-- the analyst grant of the current (outer) role, else NULL, which no policy
-- matches.  Verified once per transaction.  PARALLEL RESTRICTED: the
-- claim is only trusted where it can be seen to have been set locally.
CREATE FUNCTION commitopt.current_tenant()
RETURNS uuid LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'commitopt_current_tenant';
