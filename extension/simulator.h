/*-------------------------------------------------------------------------
 *
 * simulator.h
 *	  The hourly commitment simulator: plain C data in, results out.
 *
 * The engine knows nothing about PostgreSQL: strings are interned to small
 * integers by the caller, times are hours relative to the window start, and
 * memory comes from allocation callbacks, so the same code runs in the
 * backend (palloc) and in the standalone harness under test/engine
 * (malloc, valgrind).
 *
 * The rules are those of docs/commitment-billing.md, sections 1 and 7:
 * zonal RIs, regional RIs (size-flexible where allowed), EC2 Instance
 * Savings Plans, Compute Savings Plans, each owner first and then the
 * organization; unused commitment is lost every hour; terms starting or
 * ending inside an hour count pro rata.
 *
 * extension/simulator.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIMULATOR_H
#define SIMULATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The measures kept per hour and per (day, slice), in table column order. */
typedef enum SimField
{
	SF_USAGE_HOURS,
	SF_USAGE_NU,
	SF_ODE,
	SF_RI_COVERED_HOURS,
	SF_RI_COVERED_NU,
	SF_RI_COVERED_ODE,
	SF_SP_COVERED_HOURS,
	SF_SP_COVERED_NU,
	SF_SP_COVERED_ODE,
	SF_OD_COST,
	SF_RI_COST,
	SF_RI_UNUSED_COST,
	SF_SP_COST,
	SF_SP_USED,
	SF_RI_PURCHASED_HOURS,
	SF_RI_USED_HOURS,
	SF_RI_PURCHASED_NU,
	SF_RI_USED_NU,
	SIM_NFIELDS
} SimField;

/*
 * One stored month (or any run of hours) of a series.  start is the hour
 * of amounts[0] relative to the window start (it may be negative).
 * od_rate is NaN when the bill showed none: the series' list rate applies.
 */
typedef struct SimSegment
{
	int64_t		start;
	int			nhours;
	const double *amounts;
	double		od_rate;
} SimSegment;

/*
 * A usage series.  account is the rank of its account id (ascending), so
 * "ascending account id" is ascending account.  nu is 0 when the
 * normalization factor is unknown.  sp_rate and sp_rate_estimated hold one
 * entry per rate table (NaN: no rate in commitopt.sp_rates).
 */
typedef struct SimSeries
{
	int			account;
	int			region;
	int			az;				/* -1 when unknown */
	int			itype;
	int			family;
	int			platform;
	int			tenancy;
	int			slice;			/* (account, region, family) */
	double		nu;
	double		od_rate;		/* list rate; NaN when unknown */
	int			nsegs;			/* segments in ascending start order */
	const SimSegment *segs;
	const double *sp_rate;
	const bool *sp_rate_estimated;
} SimSeries;

/*
 * A reservation.  az is -1 for a regional RI.  flexible says whether a
 * regional RI is size-flexible (Linux, default tenancy, a flexible family,
 * a known factor).  start and end are hours relative to the window start,
 * fractional when the term starts or ends inside an hour.
 */
typedef struct SimRI
{
	int			owner;
	int			region;
	int			az;
	int			itype;
	int			family;
	int			platform;
	int			tenancy;
	int			slice;			/* owner, region, family */
	bool		flexible;
	double		nu;
	double		count;
	double		hourly_cost;	/* per instance, amortized */
	double		start;
	double		end;
} SimRI;

/*
 * A Savings Plan.  owner is -1 for the hypothetical extra plan of a
 * what-if run (owned by no usage account, sharing on).  region and family
 * matter only for EC2 Instance plans.  rate_table indexes SimSeries.sp_rate.
 */
typedef struct SimSP
{
	int			owner;
	bool		compute;
	int			region;
	int			family;
	int			rate_table;
	int			slice;			/* -1 for the extra plan */
	double		commitment;
	double		start;
	double		end;
} SimSP;

typedef struct SimInput
{
	int			nhours;
	int64_t		first_hour;		/* absolute hour of the window start,
								 * counted from a midnight UTC */
	int			naccounts;
	const bool *sharing;		/* per account */
	int			nslices;
	int			nseries;
	const SimSeries *series;	/* in series key order */
	int			nris;
	const SimRI *ris;			/* in allocation order: owner, start, id */
	int			nsps;
	const SimSP *sps;			/* in attribution order: end, id */
	int			nrate_tables;
	const double *fallback_discount;	/* per rate table */
	const SimSP *extra;			/* NULL, or the what-if plan */

	/* residual usage offered to a new plan of this rate table, or -1 */
	int			residual_table;

	void	   *(*alloc) (size_t size); /* zeroed memory, never NULL */
	void		(*release) (void *ptr);
} SimInput;

typedef struct SimDailyRow
{
	int64_t		day;			/* days since the epoch of first_hour */
	int			slice;
	double		v[SIM_NFIELDS];
} SimDailyRow;

typedef struct SimCommitmentTotals
{
	double		purchased;		/* RI hours in own size, or SP dollars */
	double		used;
	double		purchased_nu;
	double		used_nu;
	double		cost;
	double		unused_cost;
	double		covered_ode;
} SimCommitmentTotals;

/*
 * One piece of residual usage offered to a new plan in one hour: its cost
 * at the new plan's rate and its on-demand equivalent.  Pieces of an hour
 * are consecutive and in the order the new plan would serve them.
 */
typedef struct SimPiece
{
	int			hour;
	double		cost;
	double		ode;
} SimPiece;

typedef struct SimOutput
{
	double	   *hourly;			/* nhours * SIM_NFIELDS */
	int			ndaily;
	SimDailyRow *daily;
	SimCommitmentTotals *ri_totals; /* per RI */
	SimCommitmentTotals *sp_totals; /* per SP */
	SimCommitmentTotals extra_totals;
	bool		estimated_rates;	/* some covered usage used an estimate */
	bool		residual_estimated; /* some offered piece used an estimate */
	int			npieces;
	SimPiece   *pieces;
} SimOutput;

/* A point of the net-savings curve of a new plan. */
typedef struct SimCurvePoint
{
	double		commitment;		/* hourly, in SP dollars */
	double		covered_ode;	/* over the window */
	double		used;			/* commitment dollars consumed */
	double		net_savings;	/* covered_ode - nhours * commitment */
} SimCurvePoint;

typedef struct SimCurve
{
	int			npoints;		/* every breakpoint, 0 included */
	SimCurvePoint *points;		/* ascending commitment */
	int			best;			/* index of the maximum net savings */
} SimCurve;

extern void sim_run(const SimInput *in, SimOutput *out);
extern void sim_free_output(const SimInput *in, SimOutput *out);
extern void sim_curve(const SimInput *in, const SimOutput *out,
					  SimCurve *curve);
extern int	sim_thin_curve(const SimCurve *curve, int max_points, int *keep);

#endif							/* SIMULATOR_H */
