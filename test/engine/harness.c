/*-------------------------------------------------------------------------
 *
 * harness.c
 *	  Standalone checks of the simulation engine (extension/simulator.c),
 *	  built without PostgreSQL so that it can run under valgrind.
 *
 * It replays example 1.10 (RIs), example 1.11 case 1 + 3 (a Compute SP)
 * and the 5.3 curve at d = 0.30, and a larger random input that exercises
 * the re-sorting at segment boundaries, then checks every figure.
 * Exit status 0 when all checks pass.
 *
 * test/engine/harness.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../extension/simulator.h"

static int	failures = 0;

/* h_alloc and h_release are the engine's allocator here. */
static void *
h_alloc(size_t size)
{
	void	   *p = calloc(1, size);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static void
h_release(void *p)
{
	free(p);
}

/* check reports a figure that differs from the hand-computed one. */
static void
check(const char *what, double got, double want)
{
	if (fabs(got - want) > 1e-9)
	{
		printf("FAIL %s: got %.9f, want %.9f\n", what, got, want);
		failures++;
	}
}

/* example_110 replays the RI example of section 1.10. */
/*
 * harness_input fills the fields every worked example sets alike: one rate
 * table with its fallback discount, no residual table, the harness's
 * allocator.  The caller starts from a zeroed SimInput and sets usage,
 * commitments and sizes, and overrides what differs.
 */
static void
harness_input(SimInput *in, const bool *sharing, const double *fallback)
{
	in->sharing = sharing;
	in->nrate_tables = 1;
	in->fallback_discount = fallback;
	in->residual_table = -1;
	in->alloc = h_alloc;
	in->release = h_release;
}

static void
example_110(void)
{
	bool		sharing[3] = {true, true, true};
	double		a1[1] = {1},
				a2[1] = {1},
				a3[1] = {1};
	SimSegment	s1 = {0, 1, a1, 0.10},
				s2 = {0, 1, a2, 0.40},
				s3 = {0, 1, a3, 0.10};
	double		nan_rate[1] = {NAN};
	bool		no_est[1] = {false};
	/* region 0, family 0 (m5), types 0 large 1 2xlarge 2 xlarge, AZ 0 1a 1 1b */
	SimSeries	series[3] = {
		{0, 0, 1, 0, 0, 0, 0, 0, 4, NAN, 1, &s1, nan_rate, no_est},
		{0, 0, 0, 1, 0, 0, 0, 0, 16, NAN, 1, &s2, nan_rate, no_est},
		{1, 0, 0, 0, 0, 0, 0, 1, 4, NAN, 1, &s3, nan_rate, no_est},
	};
	SimRI		ris[2] = {
		{0, 0, -1, 2, 0, 0, 0, 0, true, 8, 1, 0.13, -10, 10},
		{2, 0, 0, 0, 0, 0, 0, 2, false, 4, 1, 0.065, -10, 10},
	};
	double		fb[1] = {0.22};
	SimInput	in = {0};
	SimOutput	out;
	double	   *h;

	in.nhours = 1;
	in.naccounts = 3;
	harness_input(&in, sharing, fb);
	in.nslices = 3;
	in.nseries = 3;
	in.series = series;
	in.nris = 2;
	in.ris = ris;
	sim_run(&in, &out);
	h = out.hourly;
	check("1.10 ode", h[SF_ODE], 0.60);
	check("1.10 paid", h[SF_OD_COST] + h[SF_RI_COST] + h[SF_SP_COST], 0.495);
	check("1.10 covered hours", h[SF_RI_COVERED_HOURS], 2.25);
	check("1.10 covered nu", h[SF_RI_COVERED_NU], 12);
	check("1.10 covered ode", h[SF_RI_COVERED_ODE], 0.30);
	check("1.10 unused", h[SF_RI_UNUSED_COST], 0);
	check("1.10 regional used", out.ri_totals[0].used, 1);
	check("1.10 zonal used", out.ri_totals[1].used, 1);
	check("1.10 daily rows", out.ndaily, 3);
	sim_free_output(&in, &out);
}

/* example_111 replays section 1.11, case 1 then case 3. */
static void
example_111(void)
{
	bool		sharing[1] = {true};
	double		ax[2] = {1, 0},
				ay[2] = {1, 0},
				az[2] = {1, 1};
	SimSegment	sx = {0, 2, ax, 4.0},
				sy = {0, 2, ay, 5.0},
				sz = {0, 2, az, 1.0};
	double		rx[1] = {2.40},
				ry[1] = {4.00},
				rz[1] = {0.50};
	bool		no_est[1] = {false};
	SimSeries	series[3] = {
		{0, 0, -1, 0, 0, 0, 0, 0, 4, NAN, 1, &sx, rx, no_est},
		{0, 0, -1, 1, 1, 1, 0, 1, 4, NAN, 1, &sy, ry, no_est},
		{0, 0, -1, 2, 2, 0, 0, 2, 4, NAN, 1, &sz, rz, no_est},
	};
	SimSP		sps[1] = {{0, true, -1, -1, 0, 3, 3.0, -100, 100}};
	double		fb[1] = {0.22};
	SimInput	in = {0};
	SimOutput	out;
	double	   *h0,
			   *h1;

	in.nhours = 2;
	in.naccounts = 1;
	harness_input(&in, sharing, fb);
	in.nslices = 4;
	in.nseries = 3;
	in.series = series;
	in.nsps = 1;
	in.sps = sps;
	sim_run(&in, &out);
	h0 = out.hourly;
	h1 = out.hourly + SIM_NFIELDS;
	check("1.11 case 1 sp ode", h0[SF_SP_COVERED_ODE], 5.125);
	check("1.11 case 1 od", h0[SF_OD_COST], 4.875);
	check("1.11 case 1 sp used", h0[SF_SP_USED], 3.0);
	check("1.11 case 3 sp used", h1[SF_SP_USED], 0.5);
	check("1.11 case 3 sp cost", h1[SF_SP_COST], 3.0);
	check("1.11 plan used", out.sp_totals[0].used, 3.5);
	check("1.11 plan unused", out.sp_totals[0].unused_cost, 2.5);
	sim_free_output(&in, &out);
}

/* example_53 checks the curve of section 5.3 at d = 0.30 over 10 hours. */
static void
example_53(void)
{
	bool		sharing[1] = {true};
	double		a[10] = {20, 60, 60, 60, 100, 100, 100, 100, 100, 100};
	SimSegment	seg = {0, 10, a, 1.0};
	double		rate[1] = {0.7};
	bool		no_est[1] = {false};
	SimSeries	series[1] = {{0, 0, -1, 0, 0, 0, 0, 0, 4, NAN, 1, &seg, rate, no_est}};
	double		fb[1] = {0.22};
	SimInput	in = {0};
	SimOutput	out;
	SimCurve	curve;
	int			keep[200];
	int			n;

	in.nhours = 10;
	in.naccounts = 1;
	harness_input(&in, sharing, fb);
	in.nslices = 1;
	in.nseries = 1;
	in.series = series;
	in.residual_table = 0;
	sim_run(&in, &out);
	sim_curve(&in, &out, &curve);
	check("5.3 points", curve.npoints, 4);
	check("5.3 best commitment", curve.points[curve.best].commitment, 42);
	check("5.3 best net", curve.points[curve.best].net_savings, 140);
	check("5.3 last net", curve.points[3].net_savings, 100);
	n = sim_thin_curve(&curve, 200, keep);
	check("5.3 thinned", n, 4);
	in.release(curve.points);
	sim_free_output(&in, &out);
}

/*
 * random_input runs a larger random case (several months of segments,
 * RIs of each kind, plans of both types, an extra plan and the residual
 * offer) and checks that each hour's ODE splits into covered and
 * on-demand parts.
 */
static void
random_input(void)
{
	enum
	{
		NS = 40, NH = 24 * 62, NR = 12, NP = 6, NA = 4
	};
	bool		sharing[NA] = {true, true, false, true};
	SimSeries	series[NS];
	SimSegment	segs[NS][3];
	double	   *amounts = h_alloc(sizeof(double) * NS * NH);
	double		rates[NS][2];
	bool		est[NS][2];
	SimRI		ris[NR];
	SimSP		sps[NP];
	SimSP		extra = {-1, true, -1, -1, 1, -1, 0.5, 0, NH};
	double		fb[2] = {0.22, 0.30};
	SimInput	in = {0};
	SimOutput	out;
	SimCurve	curve;
	int			s,
				h,
				i;

	srand(7);
	for (s = 0; s < NS; s++)
	{
		for (h = 0; h < NH; h++)
			amounts[s * NH + h] = rand() % 4 == 0 ? 0 : (rand() % 400) / 100.0;
		for (i = 0; i < 3; i++)
		{
			segs[s][i].start = i * (NH / 3);
			segs[s][i].nhours = NH / 3;
			segs[s][i].amounts = amounts + s * NH + i * (NH / 3);
			segs[s][i].od_rate = i == 1 ? NAN : 0.1 + (rand() % 100) / 100.0;
		}
		rates[s][0] = rand() % 5 == 0 ? NAN : segs[s][0].od_rate * 0.7;
		rates[s][1] = segs[s][0].od_rate * 0.6;
		est[s][0] = est[s][1] = false;
		series[s] = (SimSeries) {s % NA, s % 2, s % 3, s % 5, s % 4, s % 2, 0,
			s % 8, 1 << (s % 4), 0.3, 3, segs[s], rates[s], est[s]};
	}
	for (i = 0; i < NR; i++)
		ris[i] = (SimRI) {i % NA, i % 2, i % 3 == 0 ? i % 3 : -1, i % 5, i % 4,
			i % 2, 0, i % 8, i % 2 == 0, 1 << (i % 4), 1 + i % 3, 0.05,
			i * 7.5, NH - i * 11.25};
	for (i = 0; i < NP; i++)
		sps[i] = (SimSP) {i % NA, i % 2 == 0, i % 2, i % 4, i % 2, i % 8,
			0.2 + i * 0.1, -5, NH - i * 30.5};
	in.nhours = NH;
	in.first_hour = 13;
	in.naccounts = NA;
	harness_input(&in, sharing, fb);
	in.nslices = 8;
	in.nseries = NS;
	in.series = series;
	in.nris = NR;
	in.ris = ris;
	in.nsps = NP;
	in.sps = sps;
	in.nrate_tables = 2;
	in.extra = &extra;
	in.residual_table = 1;
	sim_run(&in, &out);
	for (h = 0; h < NH; h++)
	{
		double	   *v = out.hourly + h * SIM_NFIELDS;

		if (fabs(v[SF_ODE] - v[SF_RI_COVERED_ODE] - v[SF_SP_COVERED_ODE] -
				 v[SF_OD_COST]) > 1e-9)
		{
			printf("FAIL random hour %d: ode does not split\n", h);
			failures++;
			break;
		}
	}
	sim_curve(&in, &out, &curve);
	if (curve.npoints < 2)
	{
		printf("FAIL random: no curve\n");
		failures++;
	}
	in.release(curve.points);
	sim_free_output(&in, &out);
	free(amounts);
}

int
main(void)
{
	example_110();
	example_111();
	example_53();
	random_input();
	if (failures == 0)
		printf("all engine checks passed\n");
	return failures == 0 ? 0 : 1;
}
