/*-------------------------------------------------------------------------
 *
 * recommend.c
 *	  commitopt.recommend_savings_plan(): the Compute Savings Plan hourly
 *	  commitment that would have maximized net savings over a lookback
 *	  window, on top of the commitments held.
 *
 * The window is simulated once with the commitments held; the engine
 * offers every hour's residual usage to the new plan in the order the plan
 * would serve it, and sim_curve evaluates the exact piecewise-linear net
 * savings at each of its breakpoints (docs/commitment-billing.md 5.3).
 * No grid search: the optimum is one of the breakpoints, or 0.
 *
 * extension/recommend.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "commitopt.h"
#include "simulate_sql.h"

PG_FUNCTION_INFO_V1(commitopt_recommend_savings_plan);

/* Points of the stored curve, at most. */
#define REC_CURVE_POINTS	200

/*
 * ratio returns a / b, or NaN (stored as NULL) when b is zero: a ratio
 * over nothing is undefined, not 0 (section 7.7).
 */
static double
ratio(double a, double b)
{
	return b != 0 ? a / b : NAN;
}

/*
 * float_datum_array builds a float8[] Datum.
 */
static Datum
float_datum_array(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * (n + 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * commitopt_recommend_savings_plan(tenant, term_years, lookback_days)
 * stores a recommendation and its curve and returns its id.
 */
Datum
commitopt_recommend_savings_plan(PG_FUNCTION_ARGS)
{
	Datum		tenant;
	char	   *slug;
	int			term,
				lookback;
	TimestampTz from,
				to,
				start;
	int64		extent_hours;
	SimLoad		ld;
	SimOutput	out;
	SimCurve	curve;
	SimRateKey	key;
	double		tot[SIM_NFIELDS];
	double		ode,
				net_before,
				covered_before,
				T;
	const SimCurvePoint *best;
	int		   *keep;
	int			nkeep,
				i;
	double	   *cx,
			   *cnet,
			   *ccov,
			   *cutil,
			   *cesr;
	int64		rec_id;
	Oid			types[16];
	Datum		vals[16];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments of recommend_savings_plan must not be null")));
	tenant = PG_GETARG_DATUM(0);
	term = PG_GETARG_INT32(1);
	lookback = PG_GETARG_INT32(2);
	if (term != 1 && term != 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("term of %d years is not offered", term),
				 errdetail("Savings Plans run for 1 or 3 years.")));
	if (lookback != 7 && lookback != 30 && lookback != 60)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lookback of %d days is not supported", lookback),
				 errdetail("The lookback must be 7, 30 or 60 days.")));

	SPI_connect();
	slug = simsql_check_tenant(tenant);
	simsql_usage_extent(tenant, slug, &from, &to);
	extent_hours = (to - from) / USECS_PER_HOUR;
	if (to - from < (int64) lookback * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lookback of %d days (%d hours) is longer than the %lld hours of usage of tenant \"%s\"",
						lookback, lookback * 24, (long long) extent_hours,
						slug),
				 errdetail("The usage extent runs from %s to %s.",
						   pstrdup(timestamptz_to_str(from)),
						   pstrdup(timestamptz_to_str(to))),
				 errhint("Choose a shorter lookback or import more usage.")));
	start = to - (int64) lookback * USECS_PER_DAY;
	simsql_check_window(start, to);

	key.plan_type = "compute";
	key.term_years = term;
	key.payment_option = "no_upfront";
	ld.in.residual_table = -1;
	i = simsql_load(&ld, tenant, start, to, &key);
	ld.in.residual_table = i;
	sim_run(&ld.in, &out);
	sim_curve(&ld.in, &out, &curve);
	simsql_totals(&ld, &out, tot);

	/* The portfolio held, then each point with the new plan added. */
	T = ld.in.nhours;
	ode = tot[SF_ODE];
	net_before = ode - (tot[SF_OD_COST] + tot[SF_RI_COST] + tot[SF_SP_COST]);
	covered_before = tot[SF_RI_COVERED_ODE] + tot[SF_SP_COVERED_ODE];
	best = &curve.points[curve.best];

	types[0] = UUIDOID;
	vals[0] = tenant;
	types[1] = INT4OID;
	vals[1] = Int32GetDatum(term);
	types[2] = INT4OID;
	vals[2] = Int32GetDatum(lookback);
	types[3] = TIMESTAMPTZOID;
	vals[3] = TimestampTzGetDatum(start);
	types[4] = TIMESTAMPTZOID;
	vals[4] = TimestampTzGetDatum(to);
	types[5] = FLOAT8OID;
	vals[5] = Float8GetDatum(best->commitment);
	types[6] = FLOAT8OID;
	vals[6] = Float8GetDatum(ode);
	types[7] = FLOAT8OID;
	vals[7] = Float8GetDatum(net_before);
	types[8] = FLOAT8OID;
	vals[8] = Float8GetDatum(net_before + best->net_savings);
	types[9] = FLOAT8OID;
	vals[9] = Float8GetDatum(ratio(covered_before, ode));
	types[10] = FLOAT8OID;
	vals[10] = Float8GetDatum(ratio(covered_before + best->covered_ode, ode));
	types[11] = FLOAT8OID;
	vals[11] = Float8GetDatum(ratio(best->used, T * best->commitment));
	types[12] = FLOAT8OID;
	vals[12] = Float8GetDatum(ratio(net_before, ode));
	types[13] = FLOAT8OID;
	vals[13] = Float8GetDatum(ratio(net_before + best->net_savings, ode));
	types[14] = BOOLOID;
	vals[14] = BoolGetDatum(out.estimated_rates || out.residual_estimated);
	if (SPI_execute_with_args("INSERT INTO commitopt.recommendations"
							  " (tenant_id, term_years, lookback_days,"
							  "  window_start, window_end, hourly_commitment,"
							  "  ode, net_savings_before, net_savings_after,"
							  "  coverage_before, coverage_after, utilization,"
							  "  esr_before, esr_after, estimated_rates)"
							  " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9,"
							  "        nullif($10, 'NaN'), nullif($11, 'NaN'),"
							  "        nullif($12, 'NaN'), nullif($13, 'NaN'),"
							  "        nullif($14, 'NaN'), $15"
							  " RETURNING recommendation_id",
							  15, types, vals, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not store the recommendation");
	{
		bool		isnull;

		rec_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
	}

	/* The curve, thinned to a plottable number of points. */
	keep = palloc(sizeof(int) * REC_CURVE_POINTS);
	nkeep = sim_thin_curve(&curve, REC_CURVE_POINTS, keep);
	cx = palloc(sizeof(double) * nkeep);
	cnet = palloc(sizeof(double) * nkeep);
	ccov = palloc(sizeof(double) * nkeep);
	cutil = palloc(sizeof(double) * nkeep);
	cesr = palloc(sizeof(double) * nkeep);
	for (i = 0; i < nkeep; i++)
	{
		const SimCurvePoint *p = &curve.points[keep[i]];

		cx[i] = p->commitment;
		cnet[i] = p->net_savings;
		ccov[i] = ratio(covered_before + p->covered_ode, ode);
		cutil[i] = ratio(p->used, T * p->commitment);
		cesr[i] = ratio(net_before + p->net_savings, ode);
	}
	types[1] = INT8OID;
	vals[1] = Int64GetDatum(rec_id);
	vals[2] = float_datum_array(cx, nkeep);
	vals[3] = float_datum_array(cnet, nkeep);
	vals[4] = float_datum_array(ccov, nkeep);
	vals[5] = float_datum_array(cutil, nkeep);
	vals[6] = float_datum_array(cesr, nkeep);
	for (i = 2; i <= 6; i++)
		types[i] = FLOAT8ARRAYOID;
	if (SPI_execute_with_args("INSERT INTO commitopt.recommendation_curve"
							  " (tenant_id, recommendation_id, point_no,"
							  "  hourly_commitment, net_savings, coverage,"
							  "  utilization, esr)"
							  " SELECT $1, $2, u.n, u.c, u.s, nullif(u.cov, 'NaN'),"
							  "        nullif(u.ut, 'NaN'), nullif(u.e, 'NaN')"
							  "   FROM unnest($3::float8[], $4::float8[],"
							  "               $5::float8[], $6::float8[],"
							  "               $7::float8[])"
							  "        WITH ORDINALITY AS u(c, s, cov, ut, e, n)",
							  7, types, vals, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store the recommendation curve");
	SPI_finish();

	PG_RETURN_INT64(rec_id);
}
