/*-------------------------------------------------------------------------
 *
 * simulator.c
 *	  The hourly commitment simulator and the net-savings curve of a new
 *	  Savings Plan.
 *
 * sim_run walks the window hour by hour.  Everything that does not change
 * from hour to hour is prepared once: which usage series each RI may
 * cover, in the order it covers them, and the order in which each Savings
 * Plan pool serves usage.  The SP orders depend on on-demand rates, which
 * can change only where a stored segment (a month) begins, so they are
 * re-sorted at those hours only.  An hour then costs a walk over those
 * lists, stopping as soon as a commitment is used up.
 *
 * Attribution follows docs/commitment-billing.md section 7: per-account
 * and per-plan figures depend on the documented tie-breaks; organization
 * totals per hour do not.
 *
 * This file must not include PostgreSQL headers: test/engine builds it
 * standalone.
 *
 * extension/simulator.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simulator.h"

/* A list of series in the order a commitment serves them. */
typedef struct SimList
{
	int			table;			/* rate table giving the order, or -1 */
	int			n;
	int		   *items;
} SimList;

/* The series an RI may cover: its owner's first, then the organization's. */
typedef struct RIMatch
{
	SimList		own;
	SimList		other;
} RIMatch;

/* The plans of one owner inside a pool, and the usage they serve first. */
typedef struct SPOwnerGroup
{
	int			nplans;
	int		   *plans;
	SimList		list;
} SPOwnerGroup;

/*
 * A Savings Plan pool: all Compute plans, or the EC2 Instance plans of one
 * region and family.
 */
typedef struct SPPool
{
	bool		compute;
	int			region;
	int			family;
	int			ngroups;
	SPOwnerGroup *groups;
	int			norg_plans;		/* plans whose owner shares */
	int		   *org_plans;
	SimList		org_list;
} SPPool;

/* Everything sim_run keeps while it walks the hours. */
typedef struct SimState
{
	const SimInput *in;
	SimOutput  *out;
	int			K;				/* rate tables */

	/* per series */
	int		   *cursor;
	double	   *residual;
	double	   *od;				/* current on-demand rate, NaN unknown */
	double	   *rate;			/* [s * K + k], NaN when not coverable */
	bool	   *estimated;		/* [s * K + k] */

	RIMatch    *ri_match;
	double	   *ri_left;		/* capacity left this hour */

	int			npools;
	SPPool	   *pools;
	double	   *sp_left;		/* per plan, dollars left this hour */
	int		   *active;			/* sp_serve's plans with dollars left */
	double		extra_left;
	SimList		extra_list;
	SimList		residual_list;

	/* accumulation of the current hour and day */
	double	   *hour_row;
	int64_t		day;
	double	   *day_rows;		/* nslices * SIM_NFIELDS */
	bool	   *day_touched;
	int			daily_cap;
} SimState;

/* The comparison used by sort_items: negative, zero or positive. */
typedef int (*SimCmp) (const SimState *st, int table, int a, int b);

/*
 * sim_alloc returns zeroed memory from the caller's allocator.
 */
static void *
sim_alloc(const SimInput *in, size_t n, size_t size)
{
	return in->alloc(n * size > 0 ? n * size : 1);
}

/*
 * overlap returns the part of hour h (relative to the window start) that
 * lies inside [start, end): 1 for a whole hour, a fraction when the term
 * starts or ends inside it (section 7.4), 0 outside.
 */
static double
overlap(double start, double end, int h)
{
	double		lo = start > h ? start : h;
	double		hi = end < h + 1 ? end : h + 1;

	return hi > lo ? hi - lo : 0.0;
}

/*
 * floor_div divides rounding towards minus infinity, so that hours before
 * the epoch still fall into the right day.
 */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/*
 * sort_items sorts list items with a merge sort that passes the state to
 * the comparison (qsort cannot, and qsort_r is not portable).
 */
static void
sort_items(const SimState *st, SimCmp cmp, int table, int *a, int n,
		   int *tmp)
{
	int			mid,
				i,
				j,
				k;

	if (n < 2)
		return;
	mid = n / 2;
	sort_items(st, cmp, table, a, mid, tmp);
	sort_items(st, cmp, table, a + mid, n - mid, tmp);
	for (i = 0, j = mid, k = 0; i < mid || j < n;)
	{
		if (j >= n || (i < mid && cmp(st, table, a[i], a[j]) <= 0))
			tmp[k++] = a[i++];
		else
			tmp[k++] = a[j++];
	}
	memcpy(a, tmp, n * sizeof(int));
}

/*
 * cmp_sp_order orders usage for a Savings Plan: savings percentage
 * descending, then SP rate ascending, then series key; usage the plan
 * cannot cover goes last.
 */
static int
cmp_sp_order(const SimState *st, int table, int a, int b)
{
	double		ra = st->rate[a * st->K + table];
	double		rb = st->rate[b * st->K + table];
	bool		oka = !isnan(ra);
	bool		okb = !isnan(rb);
	double		sa,
				sb;

	if (oka != okb)
		return oka ? -1 : 1;
	if (oka)
	{
		sa = 1.0 - ra / st->od[a];
		sb = 1.0 - rb / st->od[b];
		if (sa != sb)
			return sa > sb ? -1 : 1;
		if (ra != rb)
			return ra < rb ? -1 : 1;
	}
	return a - b;
}

/*
 * cmp_ri_order orders the usage an RI serves: ascending account, then (for
 * a size-flexible RI, table = 1) smallest size first, then series key.
 */
static int
cmp_ri_order(const SimState *st, int flexible, int a, int b)
{
	const SimSeries *sa = &st->in->series[a];
	const SimSeries *sb = &st->in->series[b];

	if (sa->account != sb->account)
		return sa->account - sb->account;
	if (flexible && sa->nu != sb->nu)
		return sa->nu < sb->nu ? -1 : 1;
	return a - b;
}

/*
 * ri_matches says whether RI r may cover series s at all, ignoring
 * accounts and sharing.
 */
static bool
ri_matches(const SimRI *r, const SimSeries *s)
{
	if (r->region != s->region || r->platform != s->platform ||
		r->tenancy != s->tenancy)
		return false;
	if (r->az >= 0)
		return r->az == s->az && r->itype == s->itype;
	if (r->flexible)
		return r->family == s->family && s->nu > 0;
	return r->itype == s->itype;
}

/*
 * list_init allocates an empty list with room for every series.
 */
static void
list_init(SimState *st, SimList *l, int table)
{
	l->table = table;
	l->n = 0;
	l->items = sim_alloc(st->in, st->in->nseries, sizeof(int));
}

/*
 * prepare_ris builds each RI's match lists: owner's usage first; then,
 * when the owner shares, usage of other sharing accounts (section 7.1,
 * 7.2, 7.6).
 */
static void
prepare_ris(SimState *st, int *tmp)
{
	const SimInput *in = st->in;
	int			i,
				s;

	st->ri_match = sim_alloc(in, in->nris, sizeof(RIMatch));
	st->ri_left = sim_alloc(in, in->nris, sizeof(double));
	for (i = 0; i < in->nris; i++)
	{
		const SimRI *r = &in->ris[i];
		RIMatch    *m = &st->ri_match[i];
		bool		flex = r->az < 0 && r->flexible;

		list_init(st, &m->own, -1);
		list_init(st, &m->other, -1);
		for (s = 0; s < in->nseries; s++)
		{
			const SimSeries *ser = &in->series[s];

			if (!ri_matches(r, ser))
				continue;
			if (ser->account == r->owner)
				m->own.items[m->own.n++] = s;
			else if (in->sharing[r->owner] && in->sharing[ser->account])
				m->other.items[m->other.n++] = s;
		}
		sort_items(st, cmp_ri_order, flex, m->own.items, m->own.n, tmp);
		sort_items(st, cmp_ri_order, flex, m->other.items, m->other.n, tmp);
	}
}

/*
 * pool_accepts says whether usage series s is in the scope of a pool.
 */
static bool
pool_accepts(const SPPool *p, const SimSeries *s)
{
	return p->compute || (p->region == s->region && p->family == s->family);
}

/*
 * prepare_pools groups the plans into pools, and each pool's plans by
 * owner (ascending account), keeping attribution order inside each group.
 * A group's usage order follows the rate table of its first plan.
 * XXX: when one pool mixes plans of different terms or payment options,
 * their rate tables can rank usage differently; the order of the first
 * plan is used for all of them.  AWS does not document this case.
 */
static void
prepare_pools(SimState *st)
{
	const SimInput *in = st->in;
	int			i,
				j,
				s;

	st->pools = sim_alloc(in, in->nsps + 1, sizeof(SPPool));
	st->sp_left = sim_alloc(in, in->nsps, sizeof(double));
	for (i = 0; i < in->nsps; i++)
	{
		const SimSP *sp = &in->sps[i];
		SPPool	   *p = NULL;

		for (j = 0; j < st->npools; j++)
			if (st->pools[j].compute == sp->compute &&
				(sp->compute || (st->pools[j].region == sp->region &&
								 st->pools[j].family == sp->family)))
				p = &st->pools[j];
		if (p == NULL)
		{
			p = &st->pools[st->npools++];
			p->compute = sp->compute;
			p->region = sp->region;
			p->family = sp->family;
			p->groups = sim_alloc(in, in->naccounts, sizeof(SPOwnerGroup));
			p->org_plans = sim_alloc(in, in->nsps, sizeof(int));
		}
		if (in->sharing[sp->owner])
		{
			if (p->norg_plans == 0)
				list_init(st, &p->org_list, sp->rate_table);
			p->org_plans[p->norg_plans++] = i;
		}
		for (j = 0; j < p->ngroups; j++)
			if (in->sps[p->groups[j].plans[0]].owner == sp->owner)
				break;
		if (j == p->ngroups)
		{
			p->ngroups++;
			p->groups[j].plans = sim_alloc(in, in->nsps, sizeof(int));
			list_init(st, &p->groups[j].list, sp->rate_table);
		}
		p->groups[j].plans[p->groups[j].nplans++] = i;
	}

	/* Owner groups in ascending account; the usage each pass may serve. */
	for (i = 0; i < st->npools; i++)
	{
		SPPool	   *p = &st->pools[i];

		for (j = 1; j < p->ngroups; j++)
		{
			SPOwnerGroup g = p->groups[j];
			int			k = j;

			while (k > 0 && in->sps[p->groups[k - 1].plans[0]].owner >
				   in->sps[g.plans[0]].owner)
			{
				p->groups[k] = p->groups[k - 1];
				k--;
			}
			p->groups[k] = g;
		}
		for (s = 0; s < in->nseries; s++)
		{
			const SimSeries *ser = &in->series[s];

			if (!pool_accepts(p, ser))
				continue;
			for (j = 0; j < p->ngroups; j++)
				if (in->sps[p->groups[j].plans[0]].owner == ser->account)
					p->groups[j].list.items[p->groups[j].list.n++] = s;
			if (p->norg_plans > 0 && in->sharing[ser->account])
				p->org_list.items[p->org_list.n++] = s;
		}
	}
}

/*
 * prepare_new_plan_list lists the usage a plan owned by no usage account
 * may serve: that of every sharing account.
 */
static void
prepare_new_plan_list(SimState *st, SimList *l, int table)
{
	int			s;

	list_init(st, l, table);
	for (s = 0; s < st->in->nseries; s++)
		if (st->in->sharing[st->in->series[s].account])
			l->items[l->n++] = s;
}

/*
 * set_rates recomputes the SP rates of series s after its on-demand rate
 * changed: the rate table's rate where there is one, else on-demand less
 * the fallback discount (an estimate), else none.
 */
static void
set_rates(SimState *st, int s)
{
	const SimSeries *ser = &st->in->series[s];
	double		od = st->od[s];
	int			k;

	for (k = 0; k < st->K; k++)
	{
		double		r = ser->sp_rate[k];
		bool		est = ser->sp_rate_estimated[k];

		if (isnan(r) && !isnan(od))
		{
			r = od * (1.0 - st->in->fallback_discount[k]);
			est = true;
		}
		/*
		 * Savings % needs a positive on-demand rate and SP rate.  XXX: usage
		 * with no on-demand rate at all counts in hours but has no ODE and
		 * cannot be covered by any plan; RIs still cover it.
		 */
		if (isnan(od) || od <= 0 || isnan(r) || r <= 0)
			r = NAN;
		st->rate[s * st->K + k] = r;
		st->estimated[s * st->K + k] = est;
	}
}

/*
 * sort_sp_lists re-sorts every Savings Plan list after rates changed.
 */
static void
sort_sp_lists(SimState *st, int *tmp)
{
	int			i,
				j;

	for (i = 0; i < st->npools; i++)
	{
		SPPool	   *p = &st->pools[i];

		for (j = 0; j < p->ngroups; j++)
			sort_items(st, cmp_sp_order, p->groups[j].list.table,
					   p->groups[j].list.items, p->groups[j].list.n, tmp);
		if (p->norg_plans > 0)
			sort_items(st, cmp_sp_order, p->org_list.table,
					   p->org_list.items, p->org_list.n, tmp);
	}
	if (st->in->extra)
		sort_items(st, cmp_sp_order, st->extra_list.table,
				   st->extra_list.items, st->extra_list.n, tmp);
	if (st->in->residual_table >= 0)
		sort_items(st, cmp_sp_order, st->residual_list.table,
				   st->residual_list.items, st->residual_list.n, tmp);
}

/*
 * add adds v to a measure of the current hour and, unless slice is -1,
 * to the day's row of that slice.
 */
static inline void
add(SimState *st, int slice, SimField f, double v)
{
	st->hour_row[f] += v;
	if (slice >= 0)
	{
		st->day_rows[slice * SIM_NFIELDS + f] += v;
		st->day_touched[slice] = true;
	}
}

/*
 * flush_day appends the touched slices of the current day to the output
 * and clears them.
 */
static void
flush_day(SimState *st)
{
	const SimInput *in = st->in;
	SimOutput  *out = st->out;
	int			sl;

	for (sl = 0; sl < in->nslices; sl++)
	{
		SimDailyRow *row;

		if (!st->day_touched[sl])
			continue;
		if (out->ndaily == st->daily_cap)
		{
			int			cap = st->daily_cap * 2 + 64;
			SimDailyRow *n = sim_alloc(in, cap, sizeof(SimDailyRow));

			if (out->ndaily > 0)
				memcpy(n, out->daily, out->ndaily * sizeof(SimDailyRow));
			if (out->daily)
				in->release(out->daily);
			out->daily = n;
			st->daily_cap = cap;
		}
		row = &out->daily[out->ndaily++];
		row->day = st->day;
		row->slice = sl;
		memcpy(row->v, &st->day_rows[sl * SIM_NFIELDS],
			   sizeof(double) * SIM_NFIELDS);
		memset(&st->day_rows[sl * SIM_NFIELDS], 0,
			   sizeof(double) * SIM_NFIELDS);
		st->day_touched[sl] = false;
	}
}

/*
 * load_hour sets each series' usage for hour h and counts it; returns
 * whether some on-demand rate changed (so the SP orders must be redone).
 */
static bool
load_hour(SimState *st, int h)
{
	const SimInput *in = st->in;
	bool		changed = false;
	int			s;

	for (s = 0; s < in->nseries; s++)
	{
		const SimSeries *ser = &in->series[s];
		int			c = st->cursor[s];
		double		a = 0.0;
		double		od;

		while (c < ser->nsegs && ser->segs[c].start + ser->segs[c].nhours <= h)
			c++;
		st->cursor[s] = c;
		if (c < ser->nsegs && ser->segs[c].start <= h)
		{
			a = ser->segs[c].amounts[h - ser->segs[c].start];
			od = isnan(ser->segs[c].od_rate) ? ser->od_rate : ser->segs[c].od_rate;
			if (!(od == st->od[s] || (isnan(od) && isnan(st->od[s]))))
			{
				st->od[s] = od;
				set_rates(st, s);
				changed = true;
			}
		}
		st->residual[s] = a;
		if (a == 0.0)
			continue;
		add(st, ser->slice, SF_USAGE_HOURS, a);
		add(st, ser->slice, SF_USAGE_NU, a * ser->nu);
		if (!isnan(st->od[s]))
			add(st, ser->slice, SF_ODE, a * st->od[s]);
	}
	return changed;
}

/*
 * ri_serve lets RI i cover the usage of list l in order, as far as its
 * capacity left this hour goes.  A size-flexible RI counts in NU and may
 * cover an instance partly (section 1.6).
 */
static void
ri_serve(SimState *st, int i, const SimList *l)
{
	const SimRI *r = &st->in->ris[i];
	SimCommitmentTotals *tot = &st->out->ri_totals[i];
	bool		flex = r->az < 0 && r->flexible;
	int			j;

	for (j = 0; j < l->n && st->ri_left[i] > 0; j++)
	{
		int			s = l->items[j];
		const SimSeries *ser = &st->in->series[s];
		double		res = st->residual[s];
		double		x,
					used_hours,
					used_nu;

		if (res <= 0)
			continue;
		if (flex)
		{
			double		need = res * ser->nu;
			double		take = need <= st->ri_left[i] ? need : st->ri_left[i];

			x = take == need ? res : take / ser->nu;
			st->ri_left[i] -= take;
			used_nu = take;
			used_hours = take / r->nu;
		}
		else
		{
			x = res <= st->ri_left[i] ? res : st->ri_left[i];
			st->ri_left[i] -= x;
			used_hours = x;
			used_nu = x * r->nu;
		}
		st->residual[s] = x == res ? 0.0 : res - x;

		add(st, ser->slice, SF_RI_COVERED_HOURS, x);
		add(st, ser->slice, SF_RI_COVERED_NU, x * ser->nu);
		add(st, ser->slice, SF_RI_COST, used_hours * r->hourly_cost);
		add(st, r->slice, SF_RI_USED_HOURS, used_hours);
		add(st, r->slice, SF_RI_USED_NU, used_nu);
		tot->used += used_hours;
		tot->used_nu += used_nu;
		if (!isnan(st->od[s]))
		{
			add(st, ser->slice, SF_RI_COVERED_ODE, x * st->od[s]);
			tot->covered_ode += x * st->od[s];
		}
	}
}

/*
 * apply_ris runs the RI steps of one hour: zonal RIs (owners, then the
 * organization), then regional RIs the same way, then books purchased and
 * unused hours to each RI's owner slice.
 */
static void
apply_ris(SimState *st, int h)
{
	const SimInput *in = st->in;
	int			zonal,
				i;

	for (i = 0; i < in->nris; i++)
	{
		const SimRI *r = &in->ris[i];
		double		f = overlap(r->start, r->end, h);

		st->ri_left[i] = r->count * f * (r->az < 0 && r->flexible ? r->nu : 1.0);
	}
	for (zonal = 1; zonal >= 0; zonal--)
	{
		for (i = 0; i < in->nris; i++)
			if ((in->ris[i].az >= 0) == zonal && st->ri_left[i] > 0)
				ri_serve(st, i, &st->ri_match[i].own);
		for (i = 0; i < in->nris; i++)
			if ((in->ris[i].az >= 0) == zonal && st->ri_left[i] > 0)
				ri_serve(st, i, &st->ri_match[i].other);
	}

	for (i = 0; i < in->nris; i++)
	{
		const SimRI *r = &in->ris[i];
		SimCommitmentTotals *tot = &st->out->ri_totals[i];
		double		hours = r->count * overlap(r->start, r->end, h);
		double		unused;

		if (hours <= 0)
			continue;
		unused = (r->az < 0 && r->flexible) ? st->ri_left[i] / r->nu
			: st->ri_left[i];
		add(st, r->slice, SF_RI_PURCHASED_HOURS, hours);
		add(st, r->slice, SF_RI_PURCHASED_NU, hours * r->nu);
		add(st, r->slice, SF_RI_COST, unused * r->hourly_cost);
		add(st, r->slice, SF_RI_UNUSED_COST, unused * r->hourly_cost);
		tot->purchased += hours;
		tot->purchased_nu += hours * r->nu;
		tot->cost += hours * r->hourly_cost;
		tot->unused_cost += unused * r->hourly_cost;
	}
}

/*
 * sp_serve lets the given plans (in attribution order) serve the usage of
 * list l in its order.  Each unit of usage consumes its SP rate under the
 * plan that covers it, partly if the plan runs out (section 1.7).  left[],
 * tot[] and tables[] are indexed by plan.  Only plans with commitment left
 * are visited: a plan leaves st->active (kept in attribution order) as soon
 * as it is used up, and the walk stops when none is left, so an hour with
 * most plans spent does not pay for them on every series.
 */
static void
sp_serve(SimState *st, const int *plans, int nplans, const SimList *l,
		 double *left, SimCommitmentTotals *tot, const int *tables)
{
	int		   *active = st->active;
	int			nactive = 0;
	int			j,
				p;

	for (p = 0; p < nplans; p++)
		if (left[plans[p]] > 0)
			active[nactive++] = plans[p];

	for (j = 0; j < l->n && nactive > 0; j++)
	{
		int			s = l->items[j];
		const SimSeries *ser = &st->in->series[s];
		double		res = st->residual[s];

		if (res <= 0)
			continue;
		for (p = 0; p < nactive;)
		{
			int			pi = active[p];
			int			k = tables[pi];
			double		rate = st->rate[s * st->K + k];
			double		need,
						take,
						x;

			if (isnan(rate))
			{
				p++;
				continue;
			}
			need = res * rate;
			take = need <= left[pi] ? need : left[pi];
			x = take == need ? res : take / rate;
			left[pi] -= take;
			res = x == res ? 0.0 : res - x;

			add(st, ser->slice, SF_SP_COVERED_HOURS, x);
			add(st, ser->slice, SF_SP_COVERED_NU, x * ser->nu);
			add(st, ser->slice, SF_SP_COVERED_ODE, x * st->od[s]);
			add(st, ser->slice, SF_SP_COST, take);
			add(st, ser->slice, SF_SP_USED, take);
			tot[pi].used += take;
			tot[pi].covered_ode += x * st->od[s];
			if (st->estimated[s * st->K + k])
				st->out->estimated_rates = true;

			if (left[pi] <= 0)
			{
				nactive--;
				memmove(&active[p], &active[p + 1],
						(nactive - p) * sizeof(int));
			}
			else
				p++;
			if (res <= 0)
				break;
		}
		st->residual[s] = res;
	}
}

/*
 * apply_sps runs the Savings Plan steps of one hour: EC2 Instance pools,
 * then the Compute pool; in each, owners' plans serve their own usage
 * first, then the sharing plans serve the organization.  The extra what-if
 * plan comes last, after the plans held.
 * XXX: AWS would pool the extra plan with the held Compute plans; serving
 * it afterwards gives the same result when their rate tables rank usage
 * alike, and keeps the recommender's curve exact in every case.
 */
static void
apply_sps(SimState *st, int h, const int *tables)
{
	const SimInput *in = st->in;
	int			pass,
				i,
				j;

	for (i = 0; i < in->nsps; i++)
		st->sp_left[i] = in->sps[i].commitment *
			overlap(in->sps[i].start, in->sps[i].end, h);

	for (pass = 0; pass < 2; pass++)	/* EC2 Instance, then Compute */
	{
		for (i = 0; i < st->npools; i++)
		{
			SPPool	   *p = &st->pools[i];

			if (p->compute != (pass == 1))
				continue;
			for (j = 0; j < p->ngroups; j++)
				sp_serve(st, p->groups[j].plans, p->groups[j].nplans,
						 &p->groups[j].list, st->sp_left, st->out->sp_totals,
						 tables);
			if (p->norg_plans > 0)
				sp_serve(st, p->org_plans, p->norg_plans, &p->org_list,
						 st->sp_left, st->out->sp_totals, tables);
		}
	}

	for (i = 0; i < in->nsps; i++)
	{
		const SimSP *sp = &in->sps[i];
		SimCommitmentTotals *tot = &st->out->sp_totals[i];
		double		c = sp->commitment * overlap(sp->start, sp->end, h);

		if (c <= 0)
			continue;
		add(st, sp->slice, SF_SP_COST, st->sp_left[i]);
		tot->purchased += c;
		tot->cost += c;
		tot->unused_cost += st->sp_left[i];
	}

	if (in->extra)
	{
		const SimSP *sp = in->extra;
		double		c = sp->commitment * overlap(sp->start, sp->end, h);
		int			zero = 0;
		int			table = sp->rate_table;

		if (c > 0)
		{
			st->extra_left = c;
			sp_serve(st, &zero, 1, &st->extra_list, &st->extra_left,
					 &st->out->extra_totals, &table);
			add(st, -1, SF_SP_COST, st->extra_left);
			st->out->extra_totals.purchased += c;
			st->out->extra_totals.cost += c;
			st->out->extra_totals.unused_cost += st->extra_left;
		}
	}
}

/*
 * offer_residual records, for the recommender, the usage of hour h left
 * after every commitment held, in the order a new plan would serve it.
 */
static void
offer_residual(SimState *st, int h, int *cap)
{
	const SimInput *in = st->in;
	SimOutput  *out = st->out;
	int			k = in->residual_table;
	int			j;

	for (j = 0; j < st->residual_list.n; j++)
	{
		int			s = st->residual_list.items[j];
		double		r = st->residual[s];
		double		rate = st->rate[s * st->K + k];

		if (isnan(rate))
			break;				/* the rest cannot be covered either */
		if (r <= 0)
			continue;
		if (out->npieces == *cap)
		{
			int			ncap = *cap * 2 + 1024;
			SimPiece   *n = sim_alloc(in, ncap, sizeof(SimPiece));

			if (out->npieces > 0)
				memcpy(n, out->pieces, out->npieces * sizeof(SimPiece));
			if (out->pieces)
				in->release(out->pieces);
			out->pieces = n;
			*cap = ncap;
		}
		out->pieces[out->npieces].hour = h;
		out->pieces[out->npieces].cost = r * rate;
		out->pieces[out->npieces].ode = r * st->od[s];
		out->npieces++;
		if (st->estimated[s * st->K + k])
			out->residual_estimated = true;
	}
}

/*
 * sim_run simulates the window of in and fills out; the caller frees out
 * with sim_free_output.
 */
void
sim_run(const SimInput *in, SimOutput *out)
{
	SimState	st;
	int		   *tmp;
	int		   *tables;
	int			piece_cap = 0;
	int			h,
				s,
				i;

	memset(&st, 0, sizeof(st));
	memset(out, 0, sizeof(*out));
	st.in = in;
	st.out = out;
	st.K = in->nrate_tables;

	out->hourly = sim_alloc(in, (size_t) in->nhours, sizeof(double) * SIM_NFIELDS);
	out->ri_totals = sim_alloc(in, in->nris, sizeof(SimCommitmentTotals));
	out->sp_totals = sim_alloc(in, in->nsps, sizeof(SimCommitmentTotals));
	st.cursor = sim_alloc(in, in->nseries, sizeof(int));
	st.residual = sim_alloc(in, in->nseries, sizeof(double));
	st.od = sim_alloc(in, in->nseries, sizeof(double));
	st.rate = sim_alloc(in, (size_t) in->nseries * (st.K + 1), sizeof(double));
	st.estimated = sim_alloc(in, (size_t) in->nseries * (st.K + 1), sizeof(bool));
	st.day_rows = sim_alloc(in, (size_t) in->nslices, sizeof(double) * SIM_NFIELDS);
	st.day_touched = sim_alloc(in, in->nslices, sizeof(bool));
	tmp = sim_alloc(in, in->nseries, sizeof(int));
	tables = sim_alloc(in, in->nsps + 1, sizeof(int));
	st.active = sim_alloc(in, in->nsps + 1, sizeof(int));
	for (i = 0; i < in->nsps; i++)
		tables[i] = in->sps[i].rate_table;
	for (s = 0; s < in->nseries; s++)
	{
		st.od[s] = in->series[s].od_rate;
		set_rates(&st, s);
	}

	prepare_ris(&st, tmp);
	prepare_pools(&st);
	if (in->extra)
		prepare_new_plan_list(&st, &st.extra_list, in->extra->rate_table);
	if (in->residual_table >= 0)
		prepare_new_plan_list(&st, &st.residual_list, in->residual_table);
	sort_sp_lists(&st, tmp);

	st.day = floor_div(in->first_hour, 24);
	for (h = 0; h < in->nhours; h++)
	{
		int64_t		day = floor_div(in->first_hour + h, 24);

		if (day != st.day)
		{
			flush_day(&st);
			st.day = day;
		}
		st.hour_row = &out->hourly[(size_t) h * SIM_NFIELDS];
		if (load_hour(&st, h))
			sort_sp_lists(&st, tmp);
		apply_ris(&st, h);
		apply_sps(&st, h, tables);
		for (s = 0; s < in->nseries; s++)
			if (st.residual[s] > 0 && !isnan(st.od[s]))
				add(&st, in->series[s].slice, SF_OD_COST,
					st.residual[s] * st.od[s]);
		if (in->residual_table >= 0)
			offer_residual(&st, h, &piece_cap);
	}
	flush_day(&st);

	/*
	 * The lists and scratch arrays die here; in the backend they would die
	 * with the memory context anyway, but the harness checks for leaks.
	 */
	for (i = 0; i < in->nris; i++)
	{
		in->release(st.ri_match[i].own.items);
		in->release(st.ri_match[i].other.items);
	}
	for (i = 0; i < st.npools; i++)
	{
		int			j;

		for (j = 0; j < st.pools[i].ngroups; j++)
		{
			in->release(st.pools[i].groups[j].plans);
			in->release(st.pools[i].groups[j].list.items);
		}
		in->release(st.pools[i].groups);
		in->release(st.pools[i].org_plans);
		if (st.pools[i].norg_plans > 0)
			in->release(st.pools[i].org_list.items);
	}
	if (in->extra)
		in->release(st.extra_list.items);
	if (in->residual_table >= 0)
		in->release(st.residual_list.items);
	in->release(st.pools);
	in->release(st.sp_left);
	in->release(st.ri_match);
	in->release(st.ri_left);
	in->release(st.cursor);
	in->release(st.residual);
	in->release(st.od);
	in->release(st.rate);
	in->release(st.estimated);
	in->release(st.day_rows);
	in->release(st.day_touched);
	in->release(tmp);
	in->release(tables);
	in->release(st.active);
}

/*
 * sim_free_output releases what sim_run allocated in out.
 */
void
sim_free_output(const SimInput *in, SimOutput *out)
{
	in->release(out->hourly);
	in->release(out->ri_totals);
	in->release(out->sp_totals);
	if (out->daily)
		in->release(out->daily);
	if (out->pieces)
		in->release(out->pieces);
	memset(out, 0, sizeof(*out));
}

/* A change of slope of the curve at commitment k (see sim_curve). */
typedef struct SimEvent
{
	double		k;
	double		dslope;			/* change of d(covered ODE)/dc */
	int			dcount;			/* change of the hours still absorbing */
} SimEvent;

/*
 * cmp_event orders events by commitment for qsort.
 */
static int
cmp_event(const void *a, const void *b)
{
	double		ka = ((const SimEvent *) a)->k;
	double		kb = ((const SimEvent *) b)->k;

	return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/*
 * sim_curve computes the net savings of a new plan at every breakpoint
 * (section 5.3).  In hour t the plan's first c dollars buy the offered
 * pieces in order, so covered ODE G_t(c) is piecewise linear with slope
 * ode/cost of the piece being bought, falling to 0 once all are bought.
 * The sum over hours changes slope only where some hour reaches the end of
 * a piece; a sweep over those points in ascending order evaluates
 * F(c) = sum G_t(c) - T c exactly at each of them.
 */
void
sim_curve(const SimInput *in, const SimOutput *out, SimCurve *curve)
{
	SimEvent   *ev = sim_alloc(in, out->npieces, sizeof(SimEvent));
	int			nev = 0;
	double		slope = 0.0,
				g = 0.0,
				used = 0.0,
				prev = 0.0;
	int			count = 0;
	int			i,
				e;

	/* Events: where each piece of each hour ends. */
	for (i = 0; i < out->npieces; i++)
	{
		const SimPiece *p = &out->pieces[i];
		bool		first = i == 0 || out->pieces[i - 1].hour != p->hour;
		bool		last = i + 1 == out->npieces ||
			out->pieces[i + 1].hour != p->hour;
		double		s = p->ode / p->cost;
		double		k = (first ? 0.0 : ev[nev - 1].k) + p->cost;

		if (first)
		{
			slope += s;
			count++;
		}
		ev[nev].k = k;
		ev[nev].dslope = -s;
		ev[nev].dcount = last ? -1 : 0;
		if (!last)
			ev[nev].dslope += out->pieces[i + 1].ode / out->pieces[i + 1].cost;
		nev++;
	}
	qsort(ev, nev, sizeof(SimEvent), cmp_event);

	curve->points = sim_alloc(in, nev + 1, sizeof(SimCurvePoint));
	curve->npoints = 1;
	curve->best = 0;
	for (e = 0; e < nev;)
	{
		double		k = ev[e].k;
		SimCurvePoint *pt = &curve->points[curve->npoints++];

		g += slope * (k - prev);
		used += count * (k - prev);
		prev = k;
		for (; e < nev && ev[e].k == k; e++)
		{
			slope += ev[e].dslope;
			count += ev[e].dcount;
		}
		pt->commitment = k;
		pt->covered_ode = g;
		pt->used = used;
		pt->net_savings = g - (double) in->nhours * k;
		if (pt->net_savings > curve->points[curve->best].net_savings)
			curve->best = curve->npoints - 1;
	}
	in->release(ev);
}

/*
 * sim_thin_curve picks at most max_points (at least 3) indices of the
 * curve, spread evenly over the commitment range and always including the
 * first point, the optimum and the last breakpoint; returns how many.
 */
int
sim_thin_curve(const SimCurve *curve, int max_points, int *keep)
{
	double		top = curve->points[curve->npoints - 1].commitment;
	double		step = top / (max_points - 2);
	double		next = 0.0;
	int			n = 0;
	int			i;

	for (i = 0; i < curve->npoints; i++)
	{
		bool		take = i == 0 || i == curve->best || i == curve->npoints - 1;

		if (!take && curve->points[i].commitment >= next &&
			n < max_points - 2)
			take = true;
		if (take)
		{
			keep[n++] = i;
			while (next <= curve->points[i].commitment && step > 0)
				next += step;
		}
	}
	return n;
}
