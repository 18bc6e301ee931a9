-- commitopt install script, part 4: what the hourly simulation stores.
--
-- A run simulates one tenant over a window of whole UTC hours.  It keeps
-- per-hour totals, per-day totals sliced by account, region and instance
-- family, and per-commitment totals.  Quantities:
--   usage_hours       instance-hours of EC2 usage in scope
--   usage_nu          the same in normalized units (NU-hours)
--   ode               on-demand equivalent: usage at on-demand rates
--   ri_covered_*      the part covered by Reserved Instances
--   sp_covered_*      the part covered by Savings Plans
--   od_cost           usage left to on-demand rates
--   ri_cost           amortized RI fees of the hour, used or not
--   ri_unused_cost    the part of ri_cost no usage consumed
--   sp_cost           Savings Plan commitment of the hour
--   sp_used           the part of sp_cost usage consumed
--   ri_purchased_hours / ri_used_hours   in each RI's own size
--   ri_purchased_nu / ri_used_nu
-- amortized cost = od_cost + ri_cost + sp_cost; savings = ode - that.

CREATE TABLE commitopt.simulation_runs (
	tenant_id uuid NOT NULL REFERENCES commitopt.tenants ON DELETE CASCADE,
	run_id bigint GENERATED ALWAYS AS IDENTITY,
	window_start timestamptz NOT NULL,
	window_end timestamptz NOT NULL CHECK (window_end > window_start),
	created_at timestamptz NOT NULL DEFAULT now(),
	-- true when some Savings Plan rate used was an estimate
	estimated_sp_rates boolean NOT NULL DEFAULT false,
	PRIMARY KEY (tenant_id, run_id)
);

CREATE TABLE commitopt.simulation_hourly (
	tenant_id uuid NOT NULL,
	run_id bigint NOT NULL,
	hour timestamptz NOT NULL,
	usage_hours float8 NOT NULL,
	usage_nu float8 NOT NULL,
	ode float8 NOT NULL,
	ri_covered_hours float8 NOT NULL,
	ri_covered_nu float8 NOT NULL,
	ri_covered_ode float8 NOT NULL,
	sp_covered_hours float8 NOT NULL,
	sp_covered_nu float8 NOT NULL,
	sp_covered_ode float8 NOT NULL,
	od_cost float8 NOT NULL,
	ri_cost float8 NOT NULL,
	ri_unused_cost float8 NOT NULL,
	sp_cost float8 NOT NULL,
	sp_used float8 NOT NULL,
	ri_purchased_hours float8 NOT NULL,
	ri_used_hours float8 NOT NULL,
	ri_purchased_nu float8 NOT NULL,
	ri_used_nu float8 NOT NULL,
	-- refers to simulation_runs ON DELETE CASCADE by the triggers of
	-- 42_simulation_run_refs.sql: a foreign key would look the run up
	-- for every row written
	PRIMARY KEY (tenant_id, run_id, hour)
);

-- Per day and slice.  Usage-side quantities belong to the usage's slice;
-- commitment cost belongs to the slice whose usage consumed it, and unused
-- commitment to the owner account with the commitment's region and family
-- ('*' for a Compute Savings Plan, which has neither).
CREATE TABLE commitopt.simulation_daily (
	tenant_id uuid NOT NULL,
	run_id bigint NOT NULL,
	day date NOT NULL,
	account_id text NOT NULL,
	region text NOT NULL,
	family text NOT NULL,
	usage_hours float8 NOT NULL,
	usage_nu float8 NOT NULL,
	ode float8 NOT NULL,
	ri_covered_hours float8 NOT NULL,
	ri_covered_nu float8 NOT NULL,
	ri_covered_ode float8 NOT NULL,
	sp_covered_hours float8 NOT NULL,
	sp_covered_nu float8 NOT NULL,
	sp_covered_ode float8 NOT NULL,
	od_cost float8 NOT NULL,
	ri_cost float8 NOT NULL,
	ri_unused_cost float8 NOT NULL,
	sp_cost float8 NOT NULL,
	sp_used float8 NOT NULL,
	ri_purchased_hours float8 NOT NULL,
	ri_used_hours float8 NOT NULL,
	ri_purchased_nu float8 NOT NULL,
	ri_used_nu float8 NOT NULL,
	-- refers to simulation_runs as simulation_hourly does
	PRIMARY KEY (tenant_id, run_id, day, account_id, region, family)
);

-- Per commitment over the run.  For an RI, purchased/used are hours in
-- its own size (and *_nu the same in NU); for a Savings Plan, dollars of
-- commitment.  Per-plan figures of pooled Savings Plans follow commitopt's
-- attribution rule (end date, then id) and are estimates; pool totals are
-- exact.
CREATE TABLE commitopt.simulation_commitments (
	tenant_id uuid NOT NULL,
	run_id bigint NOT NULL,
	commitment_type text NOT NULL CHECK (commitment_type IN ('ri', 'sp')),
	commitment_id text NOT NULL,
	purchased float8 NOT NULL,
	used float8 NOT NULL,
	purchased_nu float8,
	used_nu float8,
	cost float8 NOT NULL,
	unused_cost float8 NOT NULL,
	covered_ode float8 NOT NULL,
	PRIMARY KEY (tenant_id, run_id, commitment_type, commitment_id),
	FOREIGN KEY (tenant_id, run_id)
		REFERENCES commitopt.simulation_runs ON DELETE CASCADE
);
