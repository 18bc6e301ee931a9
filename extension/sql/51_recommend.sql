-- commitopt install script, part 5.1: the Savings Plan recommendation.
-- The search is C (recommend.c, simulator.c); 50_recommendation_results.sql
-- describes what it stores.

-- recommend_savings_plan(tenant, term_years, lookback_days): the hourly
-- commitment of a new Compute Savings Plan (no upfront) that would have
-- maximized net savings over the last lookback_days * 24 hours of the
-- tenant's usage extent, given the commitments held.  lookback_days is 7,
-- 30 or 60; a shorter usage extent is refused.  Returns the
-- recommendation_id.
CREATE FUNCTION commitopt.recommend_savings_plan(tenant uuid,
												 term_years int DEFAULT 1,
												 lookback_days int DEFAULT 30)
RETURNS bigint
AS 'MODULE_PATHNAME', 'commitopt_recommend_savings_plan'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION commitopt.recommend_savings_plan(uuid, int, int) IS
	'Recommends the Compute Savings Plan commitment maximizing net savings over a lookback window';
