-- commitopt install script, part 5: what the recommender stores.

-- A recommended Compute Savings Plan purchase: the hourly commitment that
-- would have maximized net savings over the lookback window on top of the
-- commitments held, with its expected effect over that window.
CREATE TABLE commitopt.recommendations (
	tenant_id uuid NOT NULL REFERENCES commitopt.tenants ON DELETE CASCADE,
	recommendation_id bigint GENERATED ALWAYS AS IDENTITY,
	created_at timestamptz NOT NULL DEFAULT now(),
	plan_type text NOT NULL DEFAULT 'compute',
	term_years int NOT NULL CHECK (term_years IN (1, 3)),
	payment_option text NOT NULL DEFAULT 'no_upfront',
	lookback_days int NOT NULL CHECK (lookback_days IN (7, 30, 60)),
	window_start timestamptz NOT NULL,
	window_end timestamptz NOT NULL,
	hourly_commitment float8 NOT NULL,
	-- over the lookback window, before and after the purchase
	ode float8 NOT NULL,
	net_savings_before float8 NOT NULL,
	net_savings_after float8 NOT NULL,
	coverage_before float8,
	coverage_after float8,
	utilization float8,
	esr_before float8,
	esr_after float8,
	estimated_rates boolean NOT NULL,
	-- made by run_main_job(), which replaces its own earlier ones
	created_by_job boolean NOT NULL DEFAULT false,
	PRIMARY KEY (tenant_id, recommendation_id)
);

-- The savings-versus-commitment curve of a recommendation, for plotting:
-- net savings of the new plan over the window at each breakpoint of the
-- (piecewise linear) objective.
CREATE TABLE commitopt.recommendation_curve (
	tenant_id uuid NOT NULL,
	recommendation_id bigint NOT NULL,
	point_no int NOT NULL,
	hourly_commitment float8 NOT NULL,
	net_savings float8 NOT NULL,
	coverage float8,
	utilization float8,
	esr float8,
	PRIMARY KEY (tenant_id, recommendation_id, point_no),
	FOREIGN KEY (tenant_id, recommendation_id)
		REFERENCES commitopt.recommendations ON DELETE CASCADE
);
